import { execFile } from "node:child_process";

export interface ToolRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a program with an argument array (no shell), killed at the timeout. */
export function runTool(
  program: string,
  argv: readonly string[],
  timeoutMs: number,
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      program,
      [...argv],
      {
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      },
      (err, _stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
        const code = e === null ? 0 : typeof e.code === "number" ? e.code : null;
        const spawnError = e && typeof e.code === "string" ? `${e.code}: ${e.message}` : "";
        resolve({
          code,
          stderr: `${String(stderr)}${spawnError}`.trim().slice(0, 2000),
          timedOut: e?.killed === true,
        });
      },
    );
  });
}
