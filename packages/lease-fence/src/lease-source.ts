// Where a fence learns the current leader lease of a cluster.

/** A lease as the fence judges it. */
export interface LeaseView {
  readonly epoch: number;
  /** Wall-clock ms after which the lease is expired (renewedAt + TTL); null: never. */
  readonly expiresAt: number | null;
  /** The holder says the cluster's automation is paused (self-fencing is off then). */
  readonly paused?: boolean;
}

export interface LeaseSource {
  /** Starts watching (no-op for sources that need no watch). */
  start(): void;
  /**
   * What the watch last saw, without I/O: the lease, null when the watch saw none (deleted),
   * undefined when it has seen nothing for the cluster (not watching yet, or never written).
   */
  cached(cluster: string): LeaseView | null | undefined;
  /** Reads the lease now: null when there is none; throws when it cannot tell. */
  read(cluster: string): Promise<LeaseView | null>;
  close(): Promise<void>;
}

/**
 * A lease held fixed in memory, never expiring: for unit tests and embedders that run
 * without NATS JetStream. `set` moves it (null: no lease).
 */
export class StaticLeaseSource implements LeaseSource {
  readonly #epochs = new Map<string, number>();

  constructor(epochs: Readonly<Record<string, number>> = {}) {
    for (const [cluster, epoch] of Object.entries(epochs)) this.#epochs.set(cluster, epoch);
  }

  set(cluster: string, epoch: number | null): void {
    if (epoch === null) this.#epochs.delete(cluster);
    else this.#epochs.set(cluster, epoch);
  }

  start(): void {}

  cached(cluster: string): LeaseView | null {
    const epoch = this.#epochs.get(cluster);
    return epoch === undefined ? null : { epoch, expiresAt: null };
  }

  async read(cluster: string): Promise<LeaseView | null> {
    return this.cached(cluster);
  }

  async close(): Promise<void> {}
}
