// Graceful shutdown on SIGINT/SIGTERM, the same in every service: the first signal aborts
// whatever is still starting and closes the service; exit 0 when it closed, 1 when closing
// failed or took longer than the grace period. Further signals change nothing.
import type { Logger } from "pino";
import { EXIT_CODES, type ProcessLike } from "./exit.js";

export const DEFAULT_GRACE_MS = 10_000;

export interface ShutdownOptions {
  readonly log: Logger;
  readonly graceMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
  readonly proc?: ProcessLike;
}

export interface Shutdown {
  /** Aborted at the first signal: pass it to whatever connects or starts. */
  readonly signal: AbortSignal;
  readonly stopping: boolean;
  /** What to run at the signal; until it is set, a signal exits at once with 0. */
  closeWith(close: () => Promise<void>): void;
}

export function handleShutdown(o: ShutdownOptions): Shutdown {
  const proc = o.proc ?? process;
  const abort = new AbortController();
  let close: (() => Promise<void>) | undefined;
  let closing = false;

  const run = () => {
    if (closing) return;
    closing = true;
    const exit = (code: number) => proc.exit(code);
    if (!close) {
      exit(EXIT_CODES.ok);
      return;
    }
    close().then(
      () => exit(EXIT_CODES.ok),
      (err: unknown) => {
        o.log.error({ err }, "error while stopping");
        exit(EXIT_CODES.failed);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    o.log.info({ signal }, "stopping");
    abort.abort();
    // A close that hangs still ends the process.
    setTimeout(() => proc.exit(EXIT_CODES.failed), o.graceMs ?? DEFAULT_GRACE_MS).unref();
    run();
  };
  for (const s of o.signals ?? ["SIGINT", "SIGTERM"]) proc.on(s, () => onSignal(s));

  return {
    signal: abort.signal,
    get stopping() {
      return abort.signal.aborted;
    },
    closeWith(fn) {
      // A signal before this ended the process already (nothing was running to close).
      close = fn;
    },
  };
}
