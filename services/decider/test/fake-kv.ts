// An in-memory KV bucket with JetStream's compare-and-set rules (no TTL: a lease is held
// until deleted).
import type { KvBucket, KvEntryLike } from "../src/kv.js";

export class FakeKv implements KvBucket {
  private readonly entries = new Map<string, KvEntryLike>();
  private seq = 0;

  async get(key: string): Promise<KvEntryLike | null> {
    return this.entries.get(key) ?? null;
  }

  async create(key: string, data: Uint8Array): Promise<number> {
    if (this.entries.get(key)?.operation === "PUT")
      throw new Error(`${key}: wrong last sequence (key exists)`);
    return this.put(key, data);
  }

  async update(key: string, data: Uint8Array, revision: number): Promise<number> {
    const e = this.entries.get(key);
    if (e?.revision !== revision) throw new Error(`${key}: wrong last sequence`);
    return this.put(key, data);
  }

  async delete(key: string, opts: { previousSeq?: number } = {}): Promise<void> {
    const e = this.entries.get(key);
    if (opts.previousSeq !== undefined && e?.revision !== opts.previousSeq) {
      throw new Error(`${key}: wrong last sequence`);
    }
    this.seq += 1;
    this.entries.set(key, { operation: "DEL", value: new Uint8Array(), revision: this.seq });
  }

  private put(key: string, value: Uint8Array): number {
    this.seq += 1;
    this.entries.set(key, { operation: "PUT", value, revision: this.seq });
    return this.seq;
  }
}
