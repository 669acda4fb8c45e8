// What the lease and the state store need from a JetStream KV bucket: compare-and-set
// writes by revision. @nats-io/kv's KV fits it; tests use an in-memory bucket.
export interface KvEntryLike {
  /** "PUT" for a value; a delete or purge marker otherwise. */
  readonly operation: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

export interface KvBucket {
  get(key: string): Promise<KvEntryLike | null>;
  /** Fails when the key holds a value. */
  create(key: string, data: Uint8Array): Promise<number>;
  /** Fails unless the key is at `revision`. */
  update(key: string, data: Uint8Array, revision: number): Promise<number>;
  delete(key: string, opts?: { previousSeq?: number }): Promise<void>;
}

/** The two buckets of the decider: leases (with a TTL) and persisted state. */
export interface DeciderBuckets {
  readonly leases: KvBucket;
  readonly state: KvBucket;
}
