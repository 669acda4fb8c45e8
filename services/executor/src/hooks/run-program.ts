// Runs one hook program: an argument array, no shell, its own process group (killed whole
// at the timeout, so a hook's children die with it), an environment given in full (nothing
// of the executor's own: it holds the database passwords), output kept up to a bound.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";

export interface ProgramRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Why it could not start (`ENOENT: …`), else null. */
  readonly spawnError: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Bytes of output dropped beyond `maxOutputBytes` (both streams). */
  readonly truncatedBytes: number;
  readonly durationMs: number;
}

export interface ProgramSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Bytes kept of stdout, and of stderr. */
  readonly maxOutputBytes: number;
  /** After SIGTERM at the timeout, SIGKILL follows this much later. */
  readonly killGraceMs?: number;
}

/** Collects the first `max` bytes of a stream, counting the rest. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(private readonly max: number) {}
  add(chunk: Buffer) {
    const room = this.max - this.kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }
  text(): string {
    // A character cut at the bound decodes as U+FFFD, which is fine for a log.
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * The environment as spawn takes it: a NUL byte cannot be in an environment variable (and
 * makes spawn throw), so it is dropped — a value such as MARINA_REASON comes from a command.
 */
export function withoutNul(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("\0", "")]));
}

/** Runs the program to its end or its timeout; never rejects, never throws. */
export function runProgram(spec: ProgramSpec): Promise<ProgramRun> {
  const started = performance.now();
  const [file, ...args] = spec.argv;
  const out = new Capture(spec.maxOutputBytes);
  const err = new Capture(spec.maxOutputBytes);
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<ProgramRun, "stdout" | "stderr" | "truncatedBytes" | "durationMs">) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({
        ...r,
        stdout: out.text(),
        stderr: err.text(),
        truncatedBytes: out.dropped + err.dropped,
        durationMs: Math.round(performance.now() - started),
      });
    };
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(file ?? "", args, {
        env: withoutNul(spec.env),
        cwd: "/",
        detached: true, // its own process group, killed whole at the timeout
        shell: false,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      // spawn throws at once (not an "error" event) on an argument it refuses, e.g. a NUL
      // byte in an argument (ERR_INVALID_ARG_VALUE).
      const x = e as NodeJS.ErrnoException;
      finish({
        exitCode: null,
        signal: null,
        timedOut: false,
        spawnError: `${x.code ?? "error"}: ${x.message}`.slice(0, 1024),
      });
      return;
    }
    child.stdout.on("data", (c: Buffer) => out.add(c));
    child.stderr.on("data", (c: Buffer) => err.add(c));
    timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined) return;
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      }, spec.killGraceMs ?? 1000);
    }, spec.timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      finish({
        exitCode: null,
        signal: null,
        timedOut,
        spawnError: `${e.code ?? "error"}: ${e.message}`.slice(0, 1024),
      });
    });
    child.on("exit", (code, signal) => {
      // A child of the hook may hold its pipes open: the output read so far is enough.
      const done = () =>
        finish({ exitCode: code, signal: signal ?? null, timedOut, spawnError: null });
      if (child.stdout.readableEnded && child.stderr.readableEnded) done();
      else {
        child.on("close", done);
        setTimeout(done, 200).unref();
      }
      // Whatever the hook left behind in its group goes with it.
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
    });
  });
}
