/** Transfer rate over a sliding window of samples, and the ETA it implies. */
export class RateMeter {
  readonly #windowMs: number;
  readonly #samples: { t: number; bytes: number }[] = [];

  constructor(windowMs = 5_000) {
    this.#windowMs = windowMs;
  }

  /** Records `bytes` (a running total) seen at time `t` (ms). */
  add(t: number, bytes: number): void {
    this.#samples.push({ t, bytes });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > this.#windowMs)
      this.#samples.shift();
  }

  /** Bytes per second over the window; 0 until two samples exist. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.t <= first.t) return 0;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.t - first.t));
  }

  /** Milliseconds left at the current rate; null without a total or a rate. */
  etaMs(bytes: number, total: number | null): number | null {
    const r = this.rate();
    if (total === null || r <= 0) return null;
    return Math.max(0, Math.round(((total - bytes) * 1000) / r));
  }
}
