// Time as a dependency, so waits, durations and timestamps can be driven by tests.

export interface Clock {
  /** Wall-clock milliseconds since the epoch: timestamps, ids, durations reported to others. */
  now(): number;
  /** Monotonic milliseconds: deadlines and intervals that must not jump with the wall clock. */
  monotonic(): number;
  /** Resolves after `ms` (at once for ms <= 0), or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep,
};
