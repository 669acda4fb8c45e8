// Waiting for JetStream: a JetStream that does not answer yet — just started, busy, a
// cluster electing its meta leader — is waited for with backoff, as the first NATS
// connection is; any other error (a stream configured differently, permissions) is not.
import { backoffDelay } from "./backoff.js";
import { sleep } from "./clock.js";
import type { Logger } from "./logger.js";

const RETRY = { backoffMinMs: 250, backoffMaxMs: 5_000 };

/** Timeouts, no responders, "JetStream not (yet) available": worth waiting for. */
export function jetStreamNotReady(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; isNoResponders?: unknown };
  if (e?.name === "TimeoutError") return true;
  if (typeof e?.isNoResponders === "function" && (e.isNoResponders as () => boolean)()) {
    return true;
  }
  if (e?.code === 503 || e?.code === "503") return true;
  return (
    typeof e?.message === "string" &&
    /timeout|no responders|jetstream (not enabled|temporarily unavailable)/i.test(e.message)
  );
}

/** Runs `setup` until it succeeds, waiting with backoff while JetStream is not ready. */
export async function untilJetStreamReady<T>(
  what: string,
  setup: () => Promise<T>,
  log: Logger,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setup();
    } catch (err) {
      if (!jetStreamNotReady(err) || signal?.aborted) throw err;
      const waitMs = backoffDelay(RETRY, attempt);
      log.warn(
        { what, attempt, waitMs, err: (err as Error).message },
        "JetStream not ready; retrying",
      );
      await sleep(waitMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}
