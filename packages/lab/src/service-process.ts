// A service's built main.js as a child process with its output collected: for tests that
// check a real process's exit code, stderr line and JSON log lines.
import { type ChildProcess, spawn } from "node:child_process";
import type { LabHost } from "./netns.js";

export interface ServiceRun {
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  stdout: string;
  stderr: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServiceRunOptions {
  /**
   * Run inside this lab host's network namespace (`ip netns exec` execs: `child.pid` is
   * the service's own). It then reaches the root namespace at `net.rootAddress`, not at
   * 127.0.0.1.
   */
  readonly host?: Pick<LabHost, "wrap">;
}

/** `node <main> ...args` with process.env plus `env` (inside `opts.host` if given). */
export function runServiceMain(
  main: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  opts: ServiceRunOptions = {},
): ServiceRun {
  const direct = [process.execPath, main, ...args];
  const [command, ...argv] = (opts.host ? opts.host.wrap(direct) : direct) as [string, ...string[]];
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: ServiceRun = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on("data", (d: Buffer) => {
    run.stdout += d.toString("utf8");
  });
  child.stderr!.on("data", (d: Buffer) => {
    run.stderr += d.toString("utf8");
  });
  return run;
}

/** Ends a run that is still going: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServiceRun(run: ServiceRun | undefined, graceMs = 10_000): Promise<void> {
  if (!run || run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill("SIGTERM");
  const t = setTimeout(() => run.child.kill("SIGKILL"), graceMs);
  await run.exit;
  clearTimeout(t);
}

/** The JSON log lines (pino) of a process's output; other lines are skipped. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
