// Commands right after an operation, on real servers: lab (3 nodes, semi-sync) + monitor +
// 2 executors + decider. For about one probe interval after a failover or switchover the
// latest samples of the servers it changed were taken mid-operation; the decider must not
// refuse a good target for good on them (TARGET_NOT_ELIGIBLE "db2 does not replicate from
// db3", "SQL thread is stopped"). It answers with a retryable error until it has observed
// them again, and the retried command succeeds.
import type { CommandReply } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  operationResult,
  readOnlyOf,
  replicatesFrom,
  topologyWith,
} from "./ha-helpers.js";

describe("a command right after an operation", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    // A slow probe makes the window wide: right after an operation, the latest samples of
    // the servers it changed were taken in the middle of it.
    stack = await startStack({
      lab: { semiSync: true, nodes: 3 },
      config: { monitor: { intervalMs: 2000 } },
    });
    obs = observe(stack.nc, "main");
    await topologyWith(obs, (t) => t.primary === "db1", 20_000, "db1 as primary");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  /**
   * Sends the command at once, and again while it is refused with a RETRYABLE error; a
   * non-retryable refusal fails the test at once. Returns the accepted reply and the
   * refusals seen before it.
   */
  async function untilAccepted(verb: string, payload: Record<string, unknown>) {
    const refusals: CommandReply[] = [];
    let accepted: CommandReply | null = null;
    await waitFor(
      async () => {
        const r = await command(stack.nc, verb, payload);
        if (r.ok) {
          accepted = r;
          return true;
        }
        refusals.push(r);
        // waitFor retries a predicate that throws: a final refusal ends the wait instead
        return !r.error.retryable;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: `${verb} ${JSON.stringify(payload)} accepted` },
    );
    const final = refusals.filter((x) => !x.ok && !x.error.retryable);
    expect(final, JSON.stringify(final)).toEqual([]);
    const r = accepted as CommandReply | null;
    if (!r?.ok) throw new Error("unreachable");
    return { reply: r, refusals };
  }

  async function succeeded(opId: string) {
    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message} ${JSON.stringify(done.error)}`).toBe("succeeded");
    return done;
  }

  it("switchover db1 → db2 immediately followed by db2 → db1", async () => {
    const { lab } = stack;
    const first = await command(stack.nc, "switchover", { target: "db2" });
    expect(first, JSON.stringify(first)).toMatchObject({ ok: true });
    await succeeded(first.ok ? first.opId! : "");

    const back = await untilAccepted("switchover", { target: "db1" });
    const done = await succeeded(back.reply.ok ? back.reply.opId! : "");
    expect(done.servers).toMatchObject({ old: "db2", target: "db1" });
    console.log(`switchover back: ${back.refusals.length} retryable refusal(s) first`);
    expect(await readOnlyOf(lab.node("db1"))).toBe(0);
    await waitFor(() => replicatesFrom(lab.node("db2"), lab.node("db1")), 20_000);
    await waitFor(() => replicatesFrom(lab.node("db3"), lab.node("db1")), 20_000);
  });

  it("failover after kill -9, then an immediate switchover with a target", async () => {
    const { lab } = stack;
    await topologyWith(obs, (t) => t.writer?.server === "db1", 20_000, "db1 as writer");
    await lab.node("db1").kill9();
    const started = await obs.waitFor(
      (o) => o.kind === "operation" && o.operation.kind === "failover",
      30_000,
      "an automatic failover",
    );
    const opId = started.kind === "operation" ? started.operation.opId : "";
    const done = await succeeded(opId);
    const promoted = done.servers.candidate!;
    const other = promoted === "db2" ? "db3" : "db2";

    // `other` was repointed to the new primary a moment ago
    const next = await untilAccepted("switchover", { target: other });
    const sw = await succeeded(next.reply.ok ? next.reply.opId! : "");
    expect(sw.servers).toMatchObject({ old: promoted, target: other });
    expect(await readOnlyOf(lab.node(other))).toBe(0);
    await waitFor(() => replicatesFrom(lab.node(promoted), lab.node(other)), 20_000);
    console.log(`switchover after failover: ${next.refusals.length} retryable refusal(s) first`);
  });
});
