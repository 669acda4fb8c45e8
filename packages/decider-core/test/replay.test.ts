import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClusterConfig, CommandPayloads, ExecResult, HealthSample } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type Action, decide, type Input, initialState } from "../src/index.js";
import { type StepAction, summarize, T0, validateAction } from "./helpers.js";

// Replays the JSONL streams in fixtures/ through decide() and checks the actions line by
// line. Every inbound message is validated with its contract schema first, and every
// action's message on the way out.

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));

type Line =
  | { type: "config"; config: unknown; options?: Record<string, number> }
  | { type: "input"; at: number; leader?: boolean; epoch?: number; input: Record<string, unknown> }
  | { type: "expect"; actions: string[] }
  | { type: "expect-state"; primary: string | null; operation: string | null };

function toInput(raw: Record<string, unknown>, pending: StepAction[]): Input {
  switch (raw.kind) {
    case "health":
      return { kind: "health", sample: HealthSample.parse(raw.sample) };
    case "command": {
      const c = raw.command as { verb: keyof typeof CommandPayloads; payload: unknown };
      return {
        kind: "command",
        requestId: String(raw.requestId),
        command: { verb: c.verb, payload: CommandPayloads[c.verb].parse(c.payload) } as never,
      };
    }
    case "step-result": {
      let opId = raw.opId as string | undefined;
      let stepId = raw.stepId as string | undefined;
      const match = raw.match as { server: string; step: string } | undefined;
      if (match) {
        const i = pending.findIndex(
          (p) => p.request.server === match.server && p.request.step.kind === match.step,
        );
        if (i < 0) throw new Error(`no pending ${match.step} on ${match.server}`);
        const [p] = pending.splice(i, 1);
        opId = p!.request.opId;
        stepId = p!.request.stepId;
      }
      const result = ExecResult.parse({ ...(raw.result as object), stepId });
      return { kind: "step-result", opId: opId!, stepId: stepId!, result };
    }
    case "tick":
      return { kind: "tick" };
    case "resume":
      return { kind: "resume" };
    default:
      throw new Error(`unknown input kind ${String(raw.kind)}`);
  }
}

describe("replayed streams", () => {
  it("there are fixtures", () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)("%s", (file) => {
    const lines = readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Line);
    const head = lines[0];
    if (head?.type !== "config") throw new Error("first line must be the config");
    const config = ClusterConfig.parse(head.config);
    let state = initialState(config.name);
    let leader = true;
    let epoch = 1;
    let ops = 0;
    let since: Action[] = [];
    const pending: StepAction[] = [];
    for (const [n, line] of lines.slice(1).entries()) {
      const where = `${file}:${n + 2}`;
      switch (line.type) {
        case "config":
          throw new Error(`${where}: config must come first`);
        case "input": {
          leader = line.leader ?? leader;
          epoch = line.epoch ?? epoch;
          const input = toInput(line.input, pending);
          const r = decide(state, input, {
            now: T0 + line.at,
            config,
            epoch,
            leader,
            newOpId: () => `op${++ops}`,
            source: "replay",
            options: head.options,
          });
          state = r.state;
          for (const a of r.actions) {
            validateAction(a);
            if (a.kind === "step") pending.push(a);
          }
          since.push(...r.actions);
          break;
        }
        case "expect":
          expect(since.map(summarize), where).toEqual(line.actions);
          since = [];
          break;
        case "expect-state":
          expect(
            { primary: state.primary, operation: state.operation?.kind ?? null },
            where,
          ).toEqual({
            primary: line.primary,
            operation: line.operation,
          });
          break;
        default: {
          const never: never = line;
          throw new Error(`${where}: unknown line ${JSON.stringify(never)}`);
        }
      }
    }
    expect(since.map(summarize), `${file}: actions after the last expect`).toEqual([]);
  });
});
