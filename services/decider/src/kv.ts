// What the lease and the state store need from a JetStream KV bucket: compare-and-set
// writes by revision. @nats-io/kv's KV fits it; tests use an in-memory bucket.
export interface KvEntryLike {
  /** "PUT" for a value; a delete or purge marker otherwise. */
  readonly operation: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

/**
 * True when a compare-and-set write was refused because the key is not at the expected
 * revision (JetStream's "wrong last sequence", 10071/10164) — someone else wrote, or an
 * earlier write of ours that timed out did land. Timeouts and "no responders" are not: they
 * say nothing about the key.
 */
export function isCasConflict(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  if (e?.code === 10071 || e?.code === 10164) return true;
  return typeof e?.message === "string" && /wrong last sequence/i.test(e.message);
}

export interface KvBucket {
  get(key: string): Promise<KvEntryLike | null>;
  /** Fails when the key holds a value. */
  create(key: string, data: Uint8Array): Promise<number>;
  /** Fails unless the key is at `revision`. */
  update(key: string, data: Uint8Array, revision: number): Promise<number>;
  delete(key: string, opts?: { previousSeq?: number }): Promise<void>;
}

/** The presence bucket (TTL = lease): plain writes and a listing of the keys. */
export interface PresenceBucket {
  get(key: string): Promise<KvEntryLike | null>;
  put(key: string, data: Uint8Array): Promise<number>;
  delete(key: string): Promise<void>;
  /** Every key that holds a value now (expired and deleted ones excluded). */
  keys(): Promise<string[]>;
}

/**
 * The buckets of the decider: leases (with a TTL), persisted state, and the deciders'
 * presence (TTL), without which each decider competes for every cluster (no sharing).
 */
export interface DeciderBuckets {
  readonly leases: KvBucket;
  readonly state: KvBucket;
  readonly presence?: PresenceBucket;
}
