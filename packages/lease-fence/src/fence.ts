// The epoch fence of executors and agents: a request may change something only when it
// carries the epoch of the cluster's CURRENT leader lease. Nothing a request carries is
// remembered: a forged epoch (above the lease) is refused and leaves no trace, so it cannot
// lock the real leader out.
//
// The lease is watched (cached, no I/O per request) and read again whenever the cache cannot
// admit: a request above the cached epoch may come from a new leader the watch has not shown
// yet, and its first step must not be refused for that.
import { type ErrorBody, type ErrorCode, errorBody } from "@marina/contracts";
import type { LeaseSource, LeaseView } from "./lease-source.js";

export type FenceVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly error: ErrorBody;
      /** The lease's epoch when one was read (told back to the sender). */
      readonly currentEpoch: number | null;
    };

/**
 * Refusals that say "the lease cannot confirm this epoch yet": a sender that believes it
 * leads sends the same request again after a pause.
 */
export const LEASE_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "LEASE_UNAVAILABLE",
  "FUTURE_EPOCH",
]);

const ADMIT: FenceVerdict = { ok: true };

function refuse(
  code: ErrorCode,
  message: string,
  currentEpoch: number | null,
  path?: string,
): FenceVerdict {
  return { ok: false, error: errorBody(code, message, path), currentEpoch };
}

const live = (lease: LeaseView, now: number) => lease.expiresAt === null || now < lease.expiresAt;

/** The rule itself, on a lease just read: admit iff the lease is held, live, and equal. */
export function judge(
  cluster: string,
  epoch: number,
  lease: LeaseView | null,
  now: number,
): FenceVerdict {
  if (lease === null) {
    return refuse("LEASE_UNAVAILABLE", `no decider holds the leader lease of ${cluster}`, null);
  }
  if (epoch < lease.epoch) {
    return refuse(
      "STALE_EPOCH",
      `epoch ${epoch} is older than the leader lease's (${lease.epoch})`,
      lease.epoch,
      "payload.epoch",
    );
  }
  if (!live(lease, now)) {
    const ago = Math.round(now - (lease.expiresAt ?? now));
    return refuse(
      "LEASE_UNAVAILABLE",
      `the leader lease of ${cluster} (epoch ${lease.epoch}) expired ${ago} ms ago`,
      lease.epoch,
    );
  }
  if (epoch > lease.epoch) {
    return refuse(
      "FUTURE_EPOCH",
      `epoch ${epoch} is newer than the leader lease's (${lease.epoch})`,
      lease.epoch,
      "payload.epoch",
    );
  }
  return ADMIT;
}

export class LeaseFence {
  constructor(
    private readonly source: LeaseSource,
    /** Wall-clock ms, the clock lease expiry (renewedAt + TTL) is judged by. */
    private readonly now: () => number,
  ) {}

  /** Starts watching the lease. */
  start(): void {
    this.source.start();
  }

  close(): Promise<void> {
    return this.source.close();
  }

  /** The lease epoch the watch last saw for `cluster` (for status and logs). */
  watchedEpoch(cluster: string): number | null {
    return this.source.cached(cluster)?.epoch ?? null;
  }

  async admit(cluster: string, epoch: number): Promise<FenceVerdict> {
    const cached = this.source.cached(cluster);
    // Epochs only grow: below a lease once seen is below the current one, no read needed.
    if (cached && epoch < cached.epoch) return judge(cluster, epoch, cached, this.now());
    if (cached && epoch === cached.epoch && live(cached, this.now())) return ADMIT;
    let lease: LeaseView | null;
    try {
      lease = await this.source.read(cluster);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return refuse(
        "LEASE_UNAVAILABLE",
        `cannot read the leader lease of ${cluster}: ${why}`,
        null,
      );
    }
    return judge(cluster, epoch, lease, this.now());
  }
}
