// An in-memory KV bucket with JetStream's compare-and-set rules and a bucket TTL: a value
// is gone `ttlMs` after it was written, as with max_age (and, as on NATS 2.9, nobody is told).
import type { KvBucket, KvEntryLike, PresenceBucket } from "../src/kv.js";

interface Stored extends KvEntryLike {
  readonly writtenAt: number;
}

export class FakeTtlKv implements KvBucket, PresenceBucket {
  private readonly entries = new Map<string, Stored>();
  private seq = 0;
  /** Every PUT in order (key, value text, revision): a watch of the whole bucket. */
  readonly history: { key: string; value: string; revision: number }[] = [];

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async get(key: string): Promise<KvEntryLike | null> {
    return this.live(key) ?? null;
  }

  async create(key: string, data: Uint8Array): Promise<number> {
    if (this.live(key)?.operation === "PUT") throw new Error(`${key} exists`);
    return this.write(key, "PUT", data);
  }

  async update(key: string, data: Uint8Array, revision: number): Promise<number> {
    if (this.live(key)?.revision !== revision) throw new Error(`${key}: wrong last sequence`);
    return this.write(key, "PUT", data);
  }

  async put(key: string, data: Uint8Array): Promise<number> {
    return this.write(key, "PUT", data);
  }

  async delete(key: string, opts: { previousSeq?: number } = {}): Promise<void> {
    if (opts.previousSeq !== undefined && this.live(key)?.revision !== opts.previousSeq) {
      throw new Error(`${key}: wrong last sequence`);
    }
    this.write(key, "DEL", new Uint8Array());
  }

  async keys(): Promise<string[]> {
    return [...this.entries.keys()].filter((k) => this.live(k)?.operation === "PUT");
  }

  private live(key: string): Stored | undefined {
    const e = this.entries.get(key);
    if (e && this.now() - e.writtenAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private write(key: string, operation: string, value: Uint8Array): number {
    this.seq += 1;
    this.entries.set(key, { operation, value, revision: this.seq, writtenAt: this.now() });
    if (operation === "PUT") {
      this.history.push({ key, value: new TextDecoder().decode(value), revision: this.seq });
    }
    return this.seq;
  }
}
