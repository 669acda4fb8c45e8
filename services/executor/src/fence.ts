// Epoch fencing: a step whose epoch is older than one this executor has seen, or older than
// the current leader lease, is refused. Memory alone would let a fresh executor obey a
// deposed leader; the lease alone would miss an epoch seen a moment ago. Both are used.
import type { Clock } from "./clock.js";
import type { LeaseSource } from "./lease.js";
import type { Logger } from "./logger.js";

export type FenceVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly current: number; readonly from: "seen" | "lease" };

interface CachedLease {
  epoch: number | undefined;
  at: number;
  pending?: Promise<number | undefined>;
}

export class EpochFence {
  readonly #seen = new Map<string, number>();
  readonly #lease = new Map<string, CachedLease>();

  constructor(
    private readonly source: LeaseSource | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** How long a lease read is reused; short, so a new leader is seen within it. */
    private readonly cacheMs = 250,
  ) {}

  /** Highest epoch admitted so far for the cluster (for tests and logs). */
  seen(cluster: string): number | undefined {
    return this.#seen.get(cluster);
  }

  /**
   * Admits `epoch` for `cluster` (and remembers it) or says why not. A lease that cannot be
   * read is logged and the last value read is used: the in-memory check still applies.
   */
  async admit(cluster: string, epoch: number): Promise<FenceVerdict> {
    const lease = await this.#leaseEpoch(cluster);
    // No await between this check and the update: concurrent admissions see each other.
    const seen = this.#seen.get(cluster);
    if (seen !== undefined && epoch < seen) return { ok: false, current: seen, from: "seen" };
    if (lease !== undefined && epoch < lease) return { ok: false, current: lease, from: "lease" };
    if (seen === undefined || epoch > seen) this.#seen.set(cluster, epoch);
    return { ok: true };
  }

  async #leaseEpoch(cluster: string): Promise<number | undefined> {
    if (!this.source) return undefined;
    const now = this.clock.now();
    const cached = this.#lease.get(cluster);
    if (cached && now - cached.at <= this.cacheMs) return cached.epoch;
    if (cached?.pending) return cached.pending;
    const entry: CachedLease = cached ?? { epoch: undefined, at: -Infinity };
    const source = this.source;
    entry.pending = source
      .readEpoch(cluster)
      .then((epoch) => {
        entry.epoch = epoch;
        entry.at = this.clock.now();
        return epoch;
      })
      .catch((err: unknown) => {
        this.log.warn(
          { cluster, err: err instanceof Error ? err.message : String(err) },
          "cannot read the leader lease; using the last value read",
        );
        // Retry after the cache period, not on every request: a down JetStream must not
        // add its timeout to every step.
        entry.at = this.clock.now();
        return entry.epoch;
      })
      .finally(() => {
        entry.pending = undefined;
      });
    this.#lease.set(cluster, entry);
    return entry.pending;
  }
}
