// Runs the built `marina` (dist/main.js) as its own process, as an operator would.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export const MARINA_MAIN = resolve(import.meta.dirname, "../dist/main.js");

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  /** What it printed, once it exited. */
  readonly exited: Promise<Ran>;
}

function start(command: string, args: readonly string[], env: Record<string, string>): Running {
  const child = spawn(command, [...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<Ran>((done, fail) => {
    child.on("error", fail);
    // Give the pipes their last bytes.
    child.on("exit", (code) => setImmediate(() => done({ code, stdout, stderr })));
  });
  return { child, stdout: () => stdout, exited };
}

/** `marina args…` with `env` (and PATH) only, left running. */
export function startMarina(args: readonly string[], env: Record<string, string>): Running {
  return start(process.execPath, [MARINA_MAIN, ...args], env);
}

/** `marina args…` with `env` (and PATH) only; resolves when it exits. */
export async function marina(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<Ran> {
  const run = startMarina(args, env);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `marina args…` on a terminal: `script` gives it a pseudo-terminal, as a person's shell
 * would. What it printed comes back with the terminal's \r\n line ends made \n.
 */
export async function marinaOnTerminal(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Ran> {
  const quoted = [process.execPath, MARINA_MAIN, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const r = await start("script", ["-qefc", quoted, "/dev/null"], {
    TERM: "xterm-256color",
    ...env,
  }).exited;
  return { ...r, stdout: r.stdout.replaceAll("\r\n", "\n") };
}
