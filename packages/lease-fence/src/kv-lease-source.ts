// The lease from JetStream KV: one watch on the whole bucket keeps a cache of every
// cluster's lease; `read` asks KV directly. The bucket is bound without being created (the
// deciders create it), and bound again when it appears later or the watch ends.
//
// NATS 2.9 sends no watch event when a key expires (bucket TTL), so a cached lease carries
// its own expiry (renewedAt + the bucket's TTL) and the fence judges it.
import { jetstream } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { LEASE_BUCKET, LEASE_PLACEHOLDER, parseLeaseRecord } from "./lease-record.js";
import type { LeaseSource, LeaseView } from "./lease-source.js";
import { settledForReads } from "./young-stream.js";

/** The little logging this needs (a pino logger fits). */
export interface LeaseLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface KvLeaseOptions {
  readonly log: LeaseLog;
  /** JetStream API timeout of a read (default 1000 ms). */
  readonly timeoutMs?: number;
  /** Pause before watching again after the watch ended or could not start (default 1000 ms). */
  readonly rewatchMs?: number;
}

interface Bucket {
  readonly kv: KV;
  /** Lease TTL (the bucket's max age); 0: leases do not expire. */
  readonly ttlMs: number;
}

// JetStream API code for "stream (bucket) not found".
const STREAM_NOT_FOUND = 10059;

/** The bucket does not exist (no decider ever ran) or there is no JetStream: no lease. */
function isAbsent(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (e.code === STREAM_NOT_FOUND || e.name === "StreamNotFoundError") return true;
  if (e.name === "JetStreamNotEnabled") return true;
  return typeof e.message === "string" && /stream not found|jetstream not enabled/i.test(e.message);
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

class KvLeaseSource implements LeaseSource {
  readonly #cache = new Map<string, LeaseView | null>();
  #bucket: Promise<Bucket> | undefined;
  #loop: Promise<void> | undefined;
  #stopWatch: (() => void) | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: KvLeaseOptions,
  ) {}

  start(): void {
    this.#loop ??= this.#watchLoop();
  }

  cached(cluster: string): LeaseView | null | undefined {
    return this.#cache.get(cluster);
  }

  async read(cluster: string): Promise<LeaseView | null> {
    let bucket: Bucket;
    let entry: KvEntry | null;
    try {
      bucket = await this.#open();
      entry = await bucket.kv.get(cluster);
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
    return entry === null ? null : this.#viewOf(entry, bucket.ttlMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatch?.();
    this.#wake?.();
    await this.#loop;
  }

  #open(): Promise<Bucket> {
    this.#bucket ??= (async () => {
      const js = jetstream(this.nc, { timeout: this.o.timeoutMs ?? 1000 });
      const kv = await new Kvm(js).open(LEASE_BUCKET);
      const status = await kv.status();
      // A bucket a decider may still be creating is not read yet (young-stream.ts).
      await settledForReads(status.streamInfo.state.last_seq);
      return { kv, ttlMs: status.ttl };
    })().catch((err: unknown) => {
      this.#bucket = undefined;
      throw err;
    });
    return this.#bucket;
  }

  #viewOf(e: KvEntry, ttlMs: number): LeaseView | null {
    if (e.operation !== "PUT" || e.value.length === 0) return null;
    const r = parseLeaseRecord(e.value);
    if (!r) {
      if (e.string() !== LEASE_PLACEHOLDER) {
        this.o.log.warn({ cluster: e.key, bucket: LEASE_BUCKET }, "leader lease value ignored");
      }
      return null;
    }
    return {
      epoch: r.epoch,
      expiresAt: ttlMs > 0 ? Date.parse(r.renewedAt) + ttlMs : null,
      ...(r.paused ? { paused: true } : {}),
    };
  }

  async #watchOnce(): Promise<void> {
    const { kv, ttlMs } = await this.#open();
    const entries = await kv.watch({ key: ">" });
    this.#stopWatch = () => entries.stop();
    if (this.#closed) entries.stop();
    for await (const e of entries) this.#cache.set(e.key, this.#viewOf(e, ttlMs));
  }

  async #watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        await this.#watchOnce();
        failures = 0;
      } catch (err) {
        // Logged once per streak: a bucket that does not exist yet is normal at first start.
        if (failures++ === 0 && !isAbsent(err)) {
          this.o.log.warn({ bucket: LEASE_BUCKET, err: message(err) }, "cannot watch the lease");
        }
      }
      // Not watching: nothing cached may be trusted to follow the lease any more.
      this.#stopWatch = undefined;
      this.#cache.clear();
      this.#bucket = undefined;
      if (this.#closed) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.rewatchMs ?? 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

/** Watches and reads the leader leases in KV bucket `marina_leader` over `nc`. */
export function kvLeaseSource(nc: NatsConnection, o: KvLeaseOptions): LeaseSource {
  return new KvLeaseSource(nc, o);
}
