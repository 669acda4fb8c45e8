import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";

export interface ToolRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs a program with an argument array (no shell), killed at the timeout; `stdinFile`: a
 * file streamed to its standard input (the mariadb client applying a flashback).
 */
export function runTool(
  program: string,
  argv: readonly string[],
  timeoutMs: number,
  stdinFile?: string,
): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = execFile(
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
    const stdin = child.stdin;
    if (!stdin) return;
    // A program that exits early closes its input: the rest is not written (EPIPE), and its
    // exit code says why.
    stdin.on("error", () => {});
    if (stdinFile === undefined) {
      stdin.end();
      return;
    }
    const input = createReadStream(stdinFile);
    input.on("error", () => child.kill("SIGKILL"));
    input.pipe(stdin);
  });
}
