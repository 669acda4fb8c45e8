// How a service process ends. One table, so scripts and unit files can rely on the codes.
import { MarinaError } from "@marina/contracts";

export const EXIT_CODES = {
  /** Stopped by SIGINT/SIGTERM and closed cleanly. */
  ok: 0,
  /** Failed while running, or could not close within the grace period. */
  failed: 1,
  /** A bad argument or config (file, field, missing secret): fix it, restarting will not help. */
  badConfig: 2,
} as const;

/** What main.ts needs from `process`; tests pass a fake. */
export interface ProcessLike {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(text: string): unknown };
}

/**
 * A bad config is a VALIDATION_FAILED MarinaError: what parseArgs, loadConfigFile and
 * resolveSecret throw, naming the flag, field or variable.
 */
export function isBadConfig(err: unknown): boolean {
  return err instanceof MarinaError && err.code === "VALIDATION_FAILED";
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}

/**
 * Runs a service's main: a bad config is one line on stderr and exit code 2; any other
 * failure to start is one line and exit code 1. What happens after start is main's.
 */
export async function runMain(
  program: string,
  main: () => Promise<void>,
  proc: ProcessLike = process,
): Promise<void> {
  try {
    await main();
  } catch (err) {
    proc.stderr.write(`${program}: ${firstLine(err)}\n`);
    proc.exit(isBadConfig(err) ? EXIT_CODES.badConfig : EXIT_CODES.failed);
  }
}
