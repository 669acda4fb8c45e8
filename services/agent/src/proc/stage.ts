import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { type Invocation, resolveInvocation, type ToolPaths } from "@marina/hostops";
import { OutputLines } from "./output-lines.js";

// One spawned program of the allow-list: argv array, never a shell. stderr is kept as a
// bounded tail (for error messages) and offered line by line to watchers.

export interface StageExit {
  readonly program: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

let pdeathsig: boolean | undefined;
/** util-linux `setpriv --pdeathsig` works here: transfers die with the agent. */
function pdeathsigWorks(): boolean {
  if (pdeathsig === undefined) {
    const r = spawnSync("/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", "/bin/true"], {
      stdio: "ignore",
    });
    pdeathsig = r.status === 0;
  }
  return pdeathsig;
}

export interface StageOptions {
  readonly paths: ToolPaths;
  readonly stdin: "ignore" | "pipe" | Readable;
  readonly stdout: "ignore" | "pipe" | Writable;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * SIGKILL the program if the agent dies (setpriv --pdeathsig; setpriv execs the
   * program, so the pid stays the program's). For transfers, never for mariadbd.
   */
  readonly dieWithAgent: boolean;
}

const TAIL_BYTES = 16 * 1024;

export class Stage {
  readonly program: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<StageExit>;
  #exit: StageExit | undefined;
  readonly #stderr = new OutputLines(TAIL_BYTES);

  constructor(inv: Invocation, o: StageOptions) {
    const [file, args] = resolveInvocation(inv, o.paths);
    const [cmd, argv] =
      o.dieWithAgent && pdeathsigWorks()
        ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", file, ...args]]
        : [file, args];
    this.program = inv.program;
    this.child = spawn(cmd, argv, {
      stdio: [o.stdin, o.stdout, "pipe"],
      env: o.env ?? process.env,
      cwd: o.cwd,
      shell: false,
    });
    this.exited = new Promise<StageExit>((resolve) => {
      let spawnError: Error | undefined;
      this.child.once("error", (err) => {
        spawnError = err;
      });
      this.child.once("close", (code, signal) => {
        if (spawnError) {
          this.#appendStderr(`spawn failed: ${spawnError.message}\n`);
          this.#exit = { program: inv.program, code: 127, signal: null };
        } else {
          this.#exit = { program: inv.program, code, signal };
        }
        this.#stderr.end();
        resolve(this.#exit);
      });
    });
    this.pid = this.child.pid ?? -1;
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => this.#appendStderr(chunk));
  }

  #appendStderr(chunk: string): void {
    this.#stderr.append(chunk);
  }

  get exit(): StageExit | undefined {
    return this.#exit;
  }

  running(): boolean {
    return this.#exit === undefined && this.pid > 0;
  }

  stderrTail(lines = 5): string {
    return this.#stderr.tail.trim().split("\n").slice(-lines).join(" | ");
  }

  /** Resolves true when a stderr line matches, false when the program exits first or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    return this.#stderr.waitForLine(pattern, timeoutMs);
  }

  /** Bytes the program has read so far (/proc/<pid>/io rchar); undefined when unknown. */
  bytesRead(): number | undefined {
    if (!this.running()) return undefined;
    try {
      const io = readFileSync(`/proc/${this.pid}/io`, "utf8");
      const m = /^rchar:\s*(\d+)/m.exec(io);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running()) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }
}
