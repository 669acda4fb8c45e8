import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { resolveBinary } from "./binaries.js";
import { LabError, LabErrorCode } from "./errors.js";
import { guardProcess, releaseProcess } from "./exit-guard.js";
import { tailFile } from "./log-tail.js";
import { netnsExec } from "./netns-names.js";

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A network namespace (a lab host's) to run the command in, via `ip netns exec`, which
   * execs: the pid is still the command's own.
   */
  readonly netns?: string;
}

let pdeathsig: boolean | undefined;

/** Whether util-linux `setpriv --pdeathsig` works here (checked once). */
export function pdeathsigSupported(): boolean {
  if (pdeathsig === undefined) {
    const r = spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore" });
    pdeathsig = r.status === 0;
  }
  return pdeathsig;
}

/**
 * Wraps a command so the kernel SIGKILLs it when its parent dies (no orphans), inside
 * `netns` if given. setpriv and `ip netns exec` both exec, and the death signal survives
 * exec, so it reaches the real command.
 */
function wrap(spec: SpawnSpec): [string, string[]] {
  const argv =
    spec.netns === undefined
      ? [spec.command, ...spec.args]
      : netnsExec(spec.netns, [spec.command, ...spec.args], resolveBinary("ip"));
  const [command, ...args] = argv as [string, ...string[]];
  if (!pdeathsigSupported()) return [command, args];
  return ["setpriv", ["--pdeathsig", "KILL", "--", command, ...args]];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A child process the lab owns. setpriv execs the real binary, so `pid` is the server's.
 * Note: with worker_threads the "parent" for pdeathsig is the spawning thread.
 */
export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  readonly spec: SpawnSpec;
  #exit: ExitInfo | undefined;

  private constructor(spec: SpawnSpec, child: ChildProcess, pid: number) {
    this.spec = spec;
    this.pid = pid;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        releaseProcess(this);
        resolve(this.#exit);
      });
    });
    guardProcess(this);
  }

  static spawn(spec: SpawnSpec): ManagedProcess {
    const [cmd, args] = wrap(spec);
    const fd = openSync(spec.logFile, "a");
    let child: ChildProcess;
    try {
      // Own process group: signals reach helpers a command forks (mariadb-install-db runs
      // a bootstrap mariadbd), and a terminal's Ctrl-C reaches only the owner, which then
      // tears down in order.
      child = spawn(cmd, args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new LabError(LabErrorCode.ProcessFailed, `could not spawn ${spec.command}`);
    }
    // Spawn errors after the fact (rare) surface as an exit; never as an unhandled event.
    child.on("error", () => {});
    return new ManagedProcess(spec, child, child.pid);
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  isRunning(): boolean {
    return this.#exit === undefined;
  }

  /**
   * SIGSTOP and wait until every thread is really stopped: delivery is asynchronous, and a
   * busy server could otherwise still answer one more query.
   */
  async freeze(): Promise<void> {
    if (!this.signal("SIGSTOP")) return;
    await this.#waitForThreads((state) => state === "T" || state === "t");
  }

  /** SIGCONT and wait until no thread is stopped any more. */
  async thaw(): Promise<void> {
    if (!this.signal("SIGCONT")) return;
    await this.#waitForThreads((state) => state !== "T" && state !== "t");
  }

  async #waitForThreads(ok: (state: string) => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (this.isRunning() && Date.now() < deadline) {
      const states = threadStates(this.pid);
      if (states.length > 0 && states.every(ok)) return;
      await sleep(2);
    }
  }

  /** Sends a signal to the process group; false if the process is already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.isRunning()) return false;
    return signalGroup(this.pid, sig);
  }

  /** SIGCONT first (so a SIGSTOPped process is not left half-handled), then SIGKILL; waits. */
  async kill(): Promise<ExitInfo> {
    this.signal("SIGCONT");
    this.signal("SIGKILL");
    const info = await this.exited;
    await this.#groupGone();
    return info;
  }

  /** Helpers in the group (a bootstrap mariadbd) die with it; wait briefly until they have. */
  async #groupGone(): Promise<void> {
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      try {
        process.kill(-this.pid, "SIGKILL");
      } catch {
        return;
      }
      await sleep(10);
    }
  }

  /** SIGTERM and wait; SIGKILL after `timeoutMs`. */
  async terminate(timeoutMs = 30_000): Promise<ExitInfo> {
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    const done = await Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
    return done ?? this.kill();
  }
}

/** The scheduler state letter of every thread of `pid` ([] if it is gone). */
function threadStates(pid: number): string[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      out.push(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

/** Signals the group led by `pid` (falls back to the pid alone); false if gone. */
export function signalGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Waits for a short-lived command; fails with the log tail on non-zero exit, kills it
 * (whole group) on timeout.
 */
export async function waitForSuccess(p: ManagedProcess, timeoutMs: number): Promise<void> {
  const spec = p.spec;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), timeoutMs);
  });
  // Cleared at once so a finished script does not linger on the timer.
  const info = await Promise.race([p.exited, timeout]).finally(() => clearTimeout(timer));
  if (info === undefined) {
    await p.kill();
    throw new LabError(LabErrorCode.Timeout, `${spec.command} did not finish in ${timeoutMs} ms`);
  }
  if (info.code !== 0) {
    throw new LabError(
      LabErrorCode.ProcessFailed,
      `${spec.command} failed (code ${info.code}, signal ${info.signal}):\n${tailFile(spec.logFile, 5)}`,
    );
  }
}
