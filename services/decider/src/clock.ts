// Time as the decider's shell reads it; injected so tests can fix it.
export interface Clock {
  /** Wall-clock milliseconds: decide()'s `now`, operation ids. */
  now(): number;
  /** Monotonic milliseconds: the lease's TTL, which must not jump with the wall clock. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
