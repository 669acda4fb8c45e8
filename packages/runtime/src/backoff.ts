// Exponential retry backoff, pure: min, 2*min, 4*min ... capped at max.

export interface BackoffSettings {
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

/** Delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(settings: BackoffSettings, attempt: number): number {
  const min = Math.max(1, settings.backoffMinMs);
  const max = Math.max(min, settings.backoffMaxMs);
  const n = Math.max(1, Math.floor(attempt));
  // 2^30 * min already exceeds any sane max; avoids Infinity for huge attempt counts.
  return Math.min(max, min * 2 ** Math.min(n - 1, 30));
}
