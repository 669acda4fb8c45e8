// The lease and the state store when KV requests fail the way they do while a NATS node is
// lost or a bucket elects its leader: a request that times out before it reached the
// bucket, and one that timed out although it landed. Neither may cost leadership (within
// the TTL), leave a placeholder that locks everyone out, or wedge compare-and-set writes.

import { initialState } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import type { KvBucket, KvEntryLike } from "../src/kv.js";
import { Lease, readLease } from "../src/lease.js";
import { StateStore } from "../src/store.js";
import { FakeKv } from "./fake-kv.js";

type Op = "get" | "create" | "update" | "delete";
type Failure = "lost" | "landed";

class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** FakeKv whose next request of a kind times out: before reaching it, or after landing. */
class FlakyKv implements KvBucket {
  readonly inner = new FakeKv();
  private readonly plan: { op: Op; how: Failure; key?: string }[] = [];

  failNext(op: Op, how: Failure, key?: string): void {
    this.plan.push({ op, how, ...(key ? { key } : {}) });
  }

  private async run<T>(op: Op, key: string, call: () => Promise<T>): Promise<T> {
    const i = this.plan.findIndex((p) => p.op === op && (p.key === undefined || p.key === key));
    if (i < 0) return call();
    const [f] = this.plan.splice(i, 1);
    if (f!.how === "landed") await call();
    throw new TimeoutError("TIMEOUT");
  }

  get(key: string): Promise<KvEntryLike | null> {
    return this.run("get", key, () => this.inner.get(key));
  }
  create(key: string, data: Uint8Array): Promise<number> {
    return this.run("create", key, () => this.inner.create(key, data));
  }
  update(key: string, data: Uint8Array, revision: number): Promise<number> {
    return this.run("update", key, () => this.inner.update(key, data, revision));
  }
  delete(key: string, opts?: { previousSeq?: number }): Promise<void> {
    return this.run("delete", key, () => this.inner.delete(key, opts));
  }
}

function setup(holder = "decider-a") {
  const leases = new FlakyKv();
  const state = new FlakyKv();
  let now = 0;
  const errors: unknown[] = [];
  const changes: boolean[] = [];
  const lease = new Lease(leases, state, {
    cluster: "main",
    holder,
    ttlMs: 3_000,
    renewEveryMs: 750,
    now: () => now,
    onChange: (leader) => changes.push(leader),
    onError: (err) => errors.push(err),
  });
  return {
    leases,
    state,
    lease,
    errors,
    changes,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("Lease under KV timeouts", () => {
  it("keeps leading through a renewal that timed out before reaching the bucket", async () => {
    const t = setup();
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    t.leases.failNext("update", "lost");
    t.advance(750);
    await t.lease.step();
    expect(t.errors.at(-1)).toBeInstanceOf(TimeoutError);
    expect(t.lease.leader).toBe(true);
    t.advance(750);
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    expect(t.changes).toEqual([true]);
  });

  it("adopts a renewal that landed although it timed out", async () => {
    const t = setup();
    await t.lease.step();
    t.leases.failNext("update", "landed");
    t.advance(750);
    await t.lease.step();
    // The next renewal is refused (stale revision), finds its own record and goes on.
    t.advance(750);
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    expect(t.changes).toEqual([true]);
    t.advance(750);
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    expect((await readLease(t.leases.inner, "main"))?.holder).toBe("decider-a");
  });

  it("still lapses at the TTL when no renewal gets through", async () => {
    const t = setup();
    await t.lease.step();
    for (let i = 0; i < 4; i++) {
      t.leases.failNext("update", "lost");
      t.advance(750);
      await t.lease.step();
    }
    expect(t.lease.leader).toBe(false);
    expect(t.changes).toEqual([true, false]);
  });

  it("steps down when another decider holds the key", async () => {
    const t = setup();
    await t.lease.step();
    const e = await t.leases.inner.get("main");
    await t.leases.inner.update(
      "main",
      new TextEncoder().encode(
        JSON.stringify({ holder: "decider-b", epoch: 9, renewedAt: new Date().toISOString() }),
      ),
      e!.revision,
    );
    t.advance(750);
    await t.lease.step();
    expect(t.lease.leader).toBe(false);
  });

  it("releases the lease even when a renewal that timed out had landed", async () => {
    const t = setup();
    await t.lease.step();
    t.leases.failNext("update", "landed");
    t.advance(750);
    await t.lease.step();
    expect(await t.lease.release()).toBe(true);
    expect((await t.leases.inner.get("main"))?.operation).not.toBe("PUT");
  });

  it("a placeholder left behind does not keep a follower from ever competing", async () => {
    const leases = new FlakyKv();
    const state = new FlakyKv();
    let now = 0;
    const lease = new Lease(leases, state, {
      cluster: "main",
      holder: "decider-b",
      ttlMs: 3_000,
      renewEveryMs: 750,
      now: () => now,
      onChange: () => {},
      preferred: () => false,
      freeGraceMs: 3_000,
    });
    await leases.inner.create("main", new TextEncoder().encode("{}"));
    await lease.step(); // the grace period starts: a placeholder is no holder
    now += 3_000;
    await leases.inner.delete("main"); // the placeholder expired (bucket TTL)
    await lease.step();
    expect(lease.leader).toBe(true);
  });

  it("leaves no placeholder when drawing the epoch fails, so the next attempt can lead", async () => {
    const t = setup();
    t.state.failNext("get", "lost", "main.epoch");
    await t.lease.step();
    expect(t.lease.leader).toBe(false);
    expect(t.errors.at(-1)).toBeInstanceOf(TimeoutError); // not "too much contention"
    expect((await t.leases.inner.get("main"))?.operation).not.toBe("PUT");
    t.advance(750);
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    expect(t.lease.epoch).toBe(1);
  });

  it("leads when its lease record landed although the write timed out", async () => {
    const t = setup();
    t.leases.failNext("update", "landed");
    await t.lease.step();
    expect(t.lease.leader).toBe(true);
    expect((await readLease(t.leases.inner, "main"))?.epoch).toBe(t.lease.epoch);
  });
});

describe("StateStore", () => {
  const state = (generation: number) => {
    const s = initialState("main");
    return { ...s, topology: { ...s.topology, generation } };
  };

  it("adopts a write of its own that landed although it timed out, however many failed since", async () => {
    const kv = new FlakyKv();
    const store = new StateStore(kv, "main");
    expect(await store.save(state(1))).toBe(true);
    kv.failNext("update", "landed");
    await expect(store.save(state(2))).rejects.toBeInstanceOf(TimeoutError);
    kv.failNext("update", "lost");
    await expect(store.save(state(3))).rejects.toBeInstanceOf(TimeoutError);
    await expect(store.save(state(4))).rejects.toThrow(/wrong last sequence/);
    expect(await store.adoptOwnWrite()).toBe(true);
    expect(await store.save(state(4))).toBe(true);
    expect((await new StateStore(kv.inner, "main").load())?.topology.generation).toBe(4);
  });

  it("never adopts a successor's write", async () => {
    const kv = new FlakyKv();
    const store = new StateStore(kv, "main");
    expect(await store.save(state(1))).toBe(true);
    kv.failNext("update", "lost");
    await expect(store.save(state(2))).rejects.toBeInstanceOf(TimeoutError);
    const successor = new StateStore(kv.inner, "main");
    await successor.load();
    expect(await successor.save(state(7))).toBe(true);
    await expect(store.save(state(3))).rejects.toThrow(/wrong last sequence/);
    expect(await store.adoptOwnWrite()).toBe(false);
    expect((await new StateStore(kv.inner, "main").load())?.topology.generation).toBe(7);
  });

  it("a successor's write refuses ours", async () => {
    const kv = new FlakyKv();
    const store = new StateStore(kv, "main");
    expect(await store.save(state(1))).toBe(true);
    const successor = new StateStore(kv.inner, "main");
    await successor.load();
    expect(await successor.save(state(7))).toBe(true);
    await expect(store.save(state(3))).rejects.toThrow(/wrong last sequence/);
  });

  it("a read_only learnt from a newer sample is no reason to write", async () => {
    const kv = new FlakyKv();
    const store = new StateStore(kv, "main");
    const s = state(1);
    const at = (t: number) => ({ readOnly: false, at: t, by: "sample" as const, pending: false });
    expect(await store.save({ ...s, readOnly: { db1: at(1) } })).toBe(true);
    expect(await store.save({ ...s, readOnly: { db1: at(2) } })).toBe(false);
    // A pending read_only=0 of our own is a decision: its time counts.
    const pending = { readOnly: false, at: 3, by: "step" as const, pending: true };
    expect(await store.save({ ...s, readOnly: { db1: pending } })).toBe(true);
    expect(await store.save({ ...s, readOnly: { db1: { ...pending, at: 4 } } })).toBe(true);
  });
});
