import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LeaseFence } from "../src/fence.js";
import type { LeaseSource, LeaseView } from "../src/lease-source.js";

const NOW = 1_700_000_000_000;
const MAX = Number.MAX_SAFE_INTEGER;

/** A lease source whose watch (`watched`) and KV (`stored`) are set separately. */
class ScriptedLease implements LeaseSource {
  reads = 0;
  constructor(
    public watched: LeaseView | null | undefined,
    public stored: LeaseView | null | Error,
  ) {}
  start(): void {}
  cached(): LeaseView | null | undefined {
    return this.watched;
  }
  async read(): Promise<LeaseView | null> {
    this.reads++;
    if (this.stored instanceof Error) throw this.stored;
    return this.stored;
  }
  async close(): Promise<void> {}
}

const held = (epoch: number, expiresAt: number | null = NOW + 3000): LeaseView => ({
  epoch,
  expiresAt,
});
const expired = (epoch: number) => held(epoch, NOW - 500);
const down = new Error("JetStream timeout");

type Row = [
  name: string,
  watched: LeaseView | null | undefined,
  stored: LeaseView | null | Error,
  epoch: number,
  code: string | null,
  reads: number,
];

const rows: Row[] = [
  ["below the lease", held(5), held(5), 4, "STALE_EPOCH", 0],
  ["equal to the lease", held(5), held(5), 5, null, 0],
  ["one above the lease", held(5), held(5), 6, "FUTURE_EPOCH", 1],
  ["far above the lease", held(5), held(5), MAX, "FUTURE_EPOCH", 1],
  ["equal to a lease that never expires", held(5, null), held(5, null), 5, null, 0],
  ["with the lease missing (deleted)", null, null, 5, "LEASE_UNAVAILABLE", 1],
  ["with the lease missing, epoch 0", null, null, 0, "LEASE_UNAVAILABLE", 1],
  ["before the watch saw anything", undefined, held(5), 5, null, 1],
  ["with KV unreadable and nothing watched", undefined, down, 5, "LEASE_UNAVAILABLE", 1],
  ["with KV unreadable, equal to the watched lease", held(5), down, 5, null, 0],
  ["with KV unreadable, above the watched lease", held(5), down, 6, "LEASE_UNAVAILABLE", 1],
  ["with the watch lagging: a new leader's first step", held(5), held(6), 6, null, 1],
  ["with the watch lagging, far above the new lease", held(5), held(6), MAX, "FUTURE_EPOCH", 1],
  [
    "with the lease expired (no renewal since TTL)",
    expired(5),
    expired(5),
    5,
    "LEASE_UNAVAILABLE",
    1,
  ],
  ["with a renewal the watch missed", expired(5), held(5), 5, null, 1],
  ["below an expired lease", expired(5), expired(5), 4, "STALE_EPOCH", 0],
  ["above an expired lease", expired(5), expired(5), 6, "LEASE_UNAVAILABLE", 1],
];

describe("LeaseFence: admit iff epoch == the current lease's", () => {
  it.each(rows)("%s", async (_name, watched, stored, epoch, code, reads) => {
    const source = new ScriptedLease(watched, stored);
    const verdict = await new LeaseFence(source, () => NOW).admit("main", epoch);
    if (code === null) {
      expect(verdict).toEqual({ ok: true });
    } else {
      expect(verdict.ok).toBe(false);
      if (verdict.ok) return;
      expect(verdict.error.code).toBe(code);
      // Only a stale epoch is final; every other refusal is worth sending again.
      expect(verdict.error.retryable).toBe(code !== "STALE_EPOCH");
      if (code !== "LEASE_UNAVAILABLE") expect(verdict.error.path).toBe("payload.epoch");
    }
    expect(source.reads).toBe(reads);
  });

  it("tells the lease's epoch back when it knows it", async () => {
    const fence = new LeaseFence(new ScriptedLease(held(5), held(5)), () => NOW);
    expect(await fence.admit("main", MAX)).toMatchObject({ ok: false, currentEpoch: 5 });
    expect(await fence.admit("main", 4)).toMatchObject({ ok: false, currentEpoch: 5 });
    const none = new LeaseFence(new ScriptedLease(null, null), () => NOW);
    expect(await none.admit("main", 5)).toMatchObject({ ok: false, currentEpoch: null });
  });

  it("never learns a refused epoch: the leader is admitted right after a forged one", async () => {
    const source = new ScriptedLease(held(5), held(5));
    const fence = new LeaseFence(source, () => NOW);
    expect((await fence.admit("main", MAX)).ok).toBe(false);
    expect((await fence.admit("main", 6)).ok).toBe(false);
    expect(await fence.admit("main", 5)).toEqual({ ok: true });
    // The lease moves on: the new leader is admitted, the old one refused.
    source.stored = held(6);
    expect(await fence.admit("main", 6)).toEqual({ ok: true });
    source.watched = held(6);
    expect((await fence.admit("main", 5)).ok).toBe(false);
  });

  it("keeps clusters apart", async () => {
    const fence = new LeaseFence(
      {
        start() {},
        cached: (c) => (c === "a" ? held(3) : held(9)),
        read: async (c) => (c === "a" ? held(3) : held(9)),
        close: async () => {},
      },
      () => NOW,
    );
    expect((await fence.admit("a", 3)).ok).toBe(true);
    expect((await fence.admit("b", 3)).ok).toBe(false);
    expect((await fence.admit("b", 9)).ok).toBe(true);
  });

  it("property: whatever came before, an epoch is admitted iff it equals the lease's", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 20 }),
        fc.array(fc.oneof(fc.nat({ max: 25 }), fc.constant(MAX)), { maxLength: 30 }),
        async (lease, epochs) => {
          const fence = new LeaseFence(new ScriptedLease(held(lease), held(lease)), () => NOW);
          for (const e of epochs) {
            expect((await fence.admit("main", e)).ok).toBe(e === lease);
          }
        },
      ),
    );
  });
});
