import { MarinaError } from "@marina/contracts";
import { bashScript, type ExecResult, readProcFile, renderPipeline } from "@marina/hostops";
import { OutputLines } from "../proc/output-lines.js";
import type { RunningStream, StreamGate, StreamResult, StreamStage } from "./backend.js";
import { outputTail, type SshConnection } from "./ssh-connection.js";

// A pipeline on a remote host: ONE `bash -c 'set -o pipefail; a | b | c'` over SSH, in a
// pty so that closing the channel (cancel, timeout, agent stop) hangs up every stage. The
// programs' diagnostics arrive merged; the gates look for socat's own lines, which no
// other stage prints. The byte counter is socat's rchar, read from /proc/<pid>/io (socat
// runs as the ssh user; `socat -d -d` names its pid in every line).

const SOCAT_PID = /socat\[(\d+)\]/;
const POLL_MS = 250;
const KEEP = 16 * 1024;

/** The password prologue: MYSQL_PWD read from the channel's stdin, never on a command line. */
const PASSWORD_PROLOGUE = "IFS= read -r MYSQL_PWD && export MYSQL_PWD && ";

export function remotePipelineScript(
  stages: readonly StreamStage[],
  render: SshConnection["render"],
): { script: string; password: string | undefined } {
  const password = stages.map((s) => s.env?.MYSQL_PWD).find((p) => p !== undefined);
  const pipeline = renderPipeline(
    stages.map((s) => s.inv),
    render,
  );
  return {
    script: `set -o pipefail; ${password !== undefined ? PASSWORD_PROLOGUE : ""}${pipeline}`,
    password,
  };
}

class SshStream implements RunningStream {
  readonly done: Promise<StreamResult>;
  readonly #conn: SshConnection;
  readonly #abort = new AbortController();
  readonly #exited: Promise<ExecResult>;
  readonly #output = new OutputLines(KEEP);
  #exit: ExecResult | undefined;
  #bytes: number | undefined;
  #poll: NodeJS.Timeout | undefined;

  constructor(conn: SshConnection, stages: readonly StreamStage[]) {
    this.#conn = conn;
    const { script, password } = remotePipelineScript(stages, conn.render);
    this.#exited = conn
      .exec(bashScript(script, conn.render.paths), {
        pty: true,
        signal: this.#abort.signal,
        ...(password !== undefined ? { stdin: `${password}\n` } : {}),
        onOutput: (t) => this.#onOutput(t),
      })
      .catch(
        (err: unknown): ExecResult => ({
          code: null,
          signal: null,
          stdout: "",
          stderr: (err as Error).message,
          timedOut: false,
          aborted: false,
        }),
      )
      .then((r) => {
        this.#exit = r;
        if (this.#poll) clearInterval(this.#poll);
        this.#output.end();
        return r;
      });
    this.done = this.#exited.then((r) => ({
      ok: r.code === 0 && !r.aborted,
      failure:
        r.code === 0
          ? undefined
          : `remote pipeline failed (exit ${r.code ?? r.signal ?? "?"}): ${outputTail(r)}`,
    }));
  }

  #onOutput(text: string): void {
    for (const line of this.#output.append(text)) {
      if (this.#poll) break;
      const m = SOCAT_PID.exec(line);
      if (m) this.#startPolling(Number(m[1]));
    }
  }

  #startPolling(pid: number): void {
    let busy = false;
    const poll = () => {
      if (busy || this.#exit) return;
      busy = true;
      this.#conn
        .run(readProcFile(pid, "io"), { timeoutMs: 5_000 })
        .then((io) => {
          const m = /^rchar:\s*(\d+)/m.exec(io);
          if (m) this.#bytes = Number(m[1]);
        })
        .catch(() => {})
        .finally(() => {
          busy = false;
        });
    };
    // At once: the first sample is the counter's base (before the peer sends anything).
    poll();
    this.#poll = setInterval(poll, POLL_MS);
  }

  bytesMoved(): number | undefined {
    return this.#bytes;
  }

  waitForLine(_stage: number, pattern: RegExp, timeoutMs: number): Promise<boolean> {
    return this.#output.waitForLine(pattern, timeoutMs);
  }

  running(): boolean {
    return this.#exit === undefined;
  }

  scanned(_stage: number): string | undefined {
    return undefined;
  }

  async kill(): Promise<void> {
    this.#abort.abort();
    await this.#exited;
  }

  get exit(): ExecResult | undefined {
    return this.#exit;
  }
}

/** Starts a remote pipeline and waits for its gate (e.g. socat listening or connected). */
export async function startSshStream(
  conn: SshConnection,
  stages: readonly StreamStage[],
  gate: StreamGate,
): Promise<RunningStream> {
  if (stages.length === 0) throw new Error("empty pipeline");
  if (stages.some((s) => s.scan)) {
    // The remote pipeline runs as one bash -c: its bytes never pass through the agent.
    throw new MarinaError(
      "NOT_APPLICABLE",
      "reading a dump's position as it streams needs the agent on the host (not over SSH)",
    );
  }
  const stream = new SshStream(conn, stages);
  const ready = await stream.waitForLine(gate.stage, gate.pattern, gate.timeoutMs);
  if (ready) return stream;
  if (stream.exit) {
    const r = await stream.done;
    throw new MarinaError("TOOL_FAILED", r.failure ?? `${gate.what}: the remote pipeline ended`);
  }
  await stream.kill();
  throw new MarinaError("TIMEOUT", `${gate.what}: not ready after ${gate.timeoutMs} ms`);
}
