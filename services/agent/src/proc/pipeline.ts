import type { Readable, Writable } from "node:stream";
import { MarinaError } from "@marina/contracts";
import type { Invocation, ToolPaths } from "@marina/hostops";
import { LineScan } from "./line-scan.js";
import { Stage, type StageExit } from "./stage.js";

// `a | b | c` without a shell: each program's stdout IS the next one's stdin (the pipe's
// file descriptor is handed to the child), so the data never passes through Node. Stages
// are spawned from the sink back to the source, which lets a caller hold the source back
// until the sink is ready (e.g. socat connected) — no backup starts without a receiver.

export interface PipelineStage {
  readonly inv: Invocation;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * This stage's output passes through the agent (not handed over as a file descriptor),
   * which keeps the last short line matching (`scanned(i)`): a dump's position comment.
   */
  readonly scan?: RegExp;
}

export interface PipelineGate {
  /** Index of the stage whose stderr must show `pattern` before upstream stages start. */
  readonly stage: number;
  readonly pattern: RegExp;
  readonly timeoutMs: number;
  readonly what: string;
}

export interface PipelineOptions {
  readonly paths: ToolPaths;
  readonly gate?: PipelineGate;
  readonly cwd?: string;
}

export interface PipelineResult {
  readonly ok: boolean;
  readonly exits: readonly StageExit[];
  /** The first failing stage's program and stderr tail, for the error message. */
  readonly failure: string | undefined;
}

export class Pipeline {
  readonly stages: readonly Stage[];
  readonly done: Promise<PipelineResult>;
  readonly #scans: ReadonlyMap<number, LineScan>;

  private constructor(stages: Stage[], scans: Map<number, LineScan>) {
    this.stages = stages;
    this.#scans = scans;
    this.done = Promise.all(stages.map((s) => s.exited)).then((exits) => {
      const failed = exits.map((_e, i) => i).filter((i) => exits[i]!.code !== 0);
      // A writer killed by a dead reader (SIGPIPE, "Broken pipe") is a victim: name the
      // stage that failed first for its own reason.
      const cause = failed.find((i) => !isPipeVictim(stages[i]!, exits[i]!)) ?? failed[0];
      return {
        ok: failed.length === 0,
        exits,
        failure: cause === undefined ? undefined : describe(stages[cause]!, exits[cause]!),
      };
    });
  }

  /** Spawns the stages (sink first); rejects, with nothing left running, if the gate fails. */
  static async start(specs: readonly PipelineStage[], o: PipelineOptions): Promise<Pipeline> {
    if (specs.length === 0) throw new Error("empty pipeline");
    const spawned: Stage[] = [];
    const scans = new Map<number, LineScan>();
    let downstream: Writable | undefined;
    try {
      for (let i = specs.length - 1; i >= 0; i--) {
        const spec = specs[i]!;
        const tapped = spec.scan !== undefined && downstream !== undefined;
        const stage = new Stage(spec.inv, {
          paths: o.paths,
          stdin: i === 0 ? "ignore" : "pipe",
          stdout: tapped ? "pipe" : (downstream ?? "ignore"),
          dieWithAgent: true,
          ...(spec.env ? { env: spec.env } : {}),
          ...(o.cwd ? { cwd: o.cwd } : {}),
        });
        if (tapped && spec.scan && downstream && stage.child.stdout) {
          scans.set(i, tap(stage.child.stdout, downstream, spec.scan));
        } else {
          // The child holds its own copy of the pipe end; the agent's copy must go, or a
          // dead reader would never deliver EPIPE to the writer (and vice versa EOF).
          downstream?.destroy();
        }
        downstream = stage.child.stdin ?? undefined;
        spawned.unshift(stage);
        if (o.gate && o.gate.stage === i) {
          const ready = await stage.waitForLine(o.gate.pattern, o.gate.timeoutMs);
          if (!ready) {
            const detail = stage.exit
              ? describe(stage, stage.exit)
              : `${o.gate.what}: not ready after ${o.gate.timeoutMs} ms`;
            throw new MarinaError(stage.exit ? "TOOL_FAILED" : "TIMEOUT", detail);
          }
        }
      }
      return new Pipeline(spawned, scans);
    } catch (err) {
      downstream?.destroy();
      await killAll(spawned);
      throw err;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when every stage exited. */
  async kill(graceMs = 3_000): Promise<void> {
    await killAll(this.stages, graceMs);
  }

  running(): boolean {
    return this.stages.some((s) => s.running());
  }

  /** Bytes the last stage has read (/proc/<pid>/io rchar): the transfer's counter. */
  bytesMoved(): number | undefined {
    return this.stages[this.stages.length - 1]?.bytesRead();
  }

  waitForLine(stage: number, pattern: RegExp, timeoutMs: number): Promise<boolean> {
    const s = this.stages[stage];
    return s ? s.waitForLine(pattern, timeoutMs) : Promise.resolve(false);
  }

  /** The last line of `stage`'s output matching its `scan` (its first group); undefined: none. */
  scanned(stage: number): string | undefined {
    return this.#scans.get(stage)?.match;
  }
}

/**
 * `from` → scan → `to`, with pipe semantics: EOF passes on, and a reader that died stops
 * the writer (its stdout is destroyed: the writer gets EPIPE/SIGPIPE, as with a real pipe).
 */
function tap(from: Readable, to: Writable, pattern: RegExp): LineScan {
  const scan = new LineScan(pattern);
  const stop = () => {
    from.destroy();
    scan.destroy();
  };
  to.on("error", stop);
  scan.on("error", stop);
  from.on("error", () => to.destroy());
  from.pipe(scan).pipe(to);
  return scan;
}

function isPipeVictim(stage: Stage, exit: StageExit): boolean {
  return exit.signal === "SIGPIPE" || /broken pipe|EPIPE/i.test(stage.stderrTail(20));
}

function describe(stage: Stage, exit: StageExit): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
  const tail = stage.stderrTail();
  return `${exit.program} failed (${how})${tail ? `: ${tail}` : ""}`;
}

async function killAll(stages: readonly Stage[], graceMs = 3_000): Promise<void> {
  for (const s of stages) s.signal("SIGTERM");
  const all = Promise.all(stages.map((s) => s.exited));
  const timer = setTimeout(() => {
    for (const s of stages) s.signal("SIGKILL");
  }, graceMs);
  await all;
  clearTimeout(timer);
}
