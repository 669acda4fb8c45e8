import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { connect } from "node:net";
import { MarinaError } from "@marina/contracts";
import { systemctl, systemctlMainPid, type ToolPaths } from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import { runProgram } from "../proc/run.js";

/** Whether mariadbd runs, as the host sees it (not whether it answers queries). */
export interface ServerStatus {
  readonly running: boolean;
  readonly pid: number | null;
}

/** How the agent stops and starts one server. Tests inject the lab's own start/stop. */
export interface ServiceControl {
  start(signal?: AbortSignal): Promise<void>;
  stop(signal?: AbortSignal): Promise<void>;
  status(): Promise<ServerStatus>;
}

export type ServiceControlFactory = (server: AgentServerConfig) => ServiceControl;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A live process whose command line names mariadbd (or mysqld). */
async function isMariadbd(pid: number): Promise<boolean> {
  const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const argv0 = cmd.split("\0")[0] ?? "";
  return /(^|\/)(mariadbd|mysqld)$/.test(argv0);
}

async function pidFromFile(pidFile: string): Promise<number | null> {
  const text = await readFile(pidFile, "utf8").catch(() => "");
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** True once the server accepts connections on its unix socket. */
function socketAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** `systemctl stop|start <unit>`; liveness from the unit's MainPID. */
export function systemdControl(unit: string, paths: ToolPaths, timeoutMs: number): ServiceControl {
  return {
    async start(signal) {
      await runProgram(systemctl("start", unit), {
        paths,
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
    },
    async stop(signal) {
      await runProgram(systemctl("stop", unit), {
        paths,
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
    },
    async status() {
      const out = await runProgram(systemctlMainPid(unit), {
        paths,
        timeoutMs: 5_000,
        captureStdout: true,
      }).catch(() => "0");
      const pid = Number(out.trim());
      if (!Number.isInteger(pid) || pid <= 0) return { running: false, pid: null };
      return (await isMariadbd(pid)) ? { running: true, pid } : { running: false, pid: null };
    },
  };
}

export interface ProcessControlSpec {
  readonly start: readonly string[];
  readonly pidFile: string;
  readonly logFile?: string | undefined;
  readonly stopTimeoutMs: number;
  readonly startTimeoutMs: number;
}

/**
 * The agent runs mariadbd itself: `start` is a fixed argv (no shell), detached so the
 * server outlives an agent restart; the pid file mariadbd writes is how it is found again.
 * Stop is SIGTERM and a wait; a server that does not stop in time is reported, not killed.
 */
export function processControl(
  server: AgentServerConfig,
  spec: ProcessControlSpec,
): ServiceControl {
  const status = async (): Promise<ServerStatus> => {
    const pid = await pidFromFile(spec.pidFile);
    if (pid !== null && (await isMariadbd(pid))) return { running: true, pid };
    return { running: false, pid: null };
  };
  return {
    status,
    async start(signal) {
      if ((await status()).running) return;
      const [file, ...args] = spec.start;
      const fd = spec.logFile ? openSync(spec.logFile, "a") : undefined;
      let exited: string | undefined;
      try {
        const child = spawn(file!, args, {
          detached: true,
          shell: false,
          stdio: ["ignore", fd ?? "ignore", fd ?? "ignore"],
        });
        child.once("error", (err) => {
          exited = err.message;
        });
        child.once("exit", (code, sig) => {
          exited = `exit ${code ?? sig}`;
        });
        child.unref();
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      const deadline = Date.now() + spec.startTimeoutMs;
      while (Date.now() < deadline) {
        if (signal?.aborted) throw new MarinaError("CANCELLED", `${server.name}: start cancelled`);
        if (exited !== undefined) {
          throw new MarinaError("TOOL_FAILED", `${server.name}: mariadbd ${exited} during start`);
        }
        if ((await status()).running && (await socketAnswers(server.socket))) return;
        await sleep(100);
      }
      throw new MarinaError(
        "TIMEOUT",
        `${server.name}: not answering ${spec.startTimeoutMs} ms after start`,
      );
    },
    async stop(signal) {
      const st = await status();
      if (!st.running || st.pid === null) return;
      process.kill(st.pid, "SIGTERM");
      const deadline = Date.now() + spec.stopTimeoutMs;
      while (Date.now() < deadline) {
        if (signal?.aborted) throw new MarinaError("CANCELLED", `${server.name}: stop cancelled`);
        if (!(await isMariadbd(st.pid))) return;
        await sleep(100);
      }
      throw new MarinaError(
        "TIMEOUT",
        `${server.name}: still running ${spec.stopTimeoutMs} ms after SIGTERM`,
      );
    },
  };
}

/** The control the config names for a server. */
export function configuredControl(
  server: AgentServerConfig,
  paths: ToolPaths,
  serviceTimeoutMs: number,
): ServiceControl {
  const svc = server.service;
  switch (svc.kind) {
    case "systemd":
      return systemdControl(svc.unit, paths, serviceTimeoutMs);
    case "process":
      return processControl(server, svc);
    default: {
      const never: never = svc;
      throw new Error(`unknown service kind ${JSON.stringify(never)}`);
    }
  }
}

/** The working directory of a process (mariadbd runs in its datadir); null when unknown. */
async function cwdOf(pid: number): Promise<string | null> {
  return realpath(`/proc/${pid}/cwd`).catch(() => null);
}

/**
 * STONITH: SIGKILL the server's mariadbd (a SIGSTOPped process dies too: the kernel
 * delivers SIGKILL to a stopped process) and wait until it is gone, at most `waitMs`.
 * Nothing to do when it does not run. The pid the control reports (pid file or systemd's
 * MainPID) must be a mariadbd whose working directory is this server's datadir — a stale
 * pid file whose pid now belongs to another instance on the host is refused, not killed.
 */
export async function killServer(
  control: ServiceControl,
  datadir: string,
  waitMs: number,
): Promise<{ killed: boolean; pid: number | null }> {
  const st = await control.status();
  if (!st.running || st.pid === null) return { killed: false, pid: null };
  const pid = st.pid;
  const [cwd, dir] = await Promise.all([cwdOf(pid), realpath(datadir).catch(() => datadir)]);
  if (!(await isMariadbd(pid)) || cwd !== dir) {
    throw new MarinaError(
      "REFUSED",
      `pid ${pid} is not the mariadbd of ${datadir} (it runs in ${cwd ?? "an unknown directory"}): not killed`,
    );
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    if (!(await isMariadbd(pid))) return { killed: true, pid };
    await sleep(10);
  }
  throw new MarinaError("TIMEOUT", `mariadbd (pid ${pid}) still there ${waitMs} ms after SIGKILL`);
}
