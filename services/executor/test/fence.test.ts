import { describe, expect, it } from "vitest";
import { EpochFence } from "../src/fence.js";
import type { LeaseSource } from "../src/lease.js";
import { FakeClock, silentLog } from "./fixtures.js";

class CountingLease implements LeaseSource {
  reads = 0;
  constructor(
    public epoch: number | undefined,
    public fail = false,
  ) {}
  async readEpoch(): Promise<number | undefined> {
    this.reads++;
    if (this.fail) throw new Error("jetstream down");
    return this.epoch;
  }
}

describe("EpochFence", () => {
  it("refuses an epoch older than one already admitted, per cluster", async () => {
    const f = new EpochFence(undefined, new FakeClock(), silentLog);
    expect(await f.admit("a", 5)).toEqual({ ok: true });
    expect(await f.admit("a", 5)).toEqual({ ok: true });
    expect(await f.admit("a", 4)).toEqual({ ok: false, current: 5, from: "seen" });
    expect(await f.admit("b", 1)).toEqual({ ok: true });
    expect(await f.admit("a", 6)).toEqual({ ok: true });
    expect(f.seen("a")).toBe(6);
  });

  it("refuses an epoch older than the lease even when never seen before", async () => {
    const lease = new CountingLease(10);
    const f = new EpochFence(lease, new FakeClock(), silentLog);
    expect(await f.admit("a", 7)).toEqual({ ok: false, current: 10, from: "lease" });
    expect(f.seen("a")).toBeUndefined();
    expect(await f.admit("a", 10)).toEqual({ ok: true });
    // A newer epoch than the lease (lease renewed, cache not yet) is admitted.
    expect(await f.admit("a", 11)).toEqual({ ok: true });
  });

  it("reuses a lease read within the cache window and reads again after it", async () => {
    const clock = new FakeClock();
    const lease = new CountingLease(3);
    const f = new EpochFence(lease, clock, silentLog, 250);
    await f.admit("a", 3);
    await f.admit("a", 3);
    expect(lease.reads).toBe(1);
    lease.epoch = 9;
    clock.t += 251;
    expect(await f.admit("a", 3)).toEqual({ ok: false, current: 9, from: "lease" });
    expect(lease.reads).toBe(2);
  });

  it("shares one read between concurrent admissions", async () => {
    const lease = new CountingLease(2);
    const f = new EpochFence(lease, new FakeClock(), silentLog);
    const all = await Promise.all([f.admit("a", 2), f.admit("a", 3), f.admit("a", 2)]);
    expect(lease.reads).toBe(1);
    expect(all[1]).toEqual({ ok: true });
    expect(f.seen("a")).toBe(3);
  });

  it("falls back to the last lease read (and memory) when the lease cannot be read", async () => {
    const clock = new FakeClock();
    const lease = new CountingLease(8);
    const f = new EpochFence(lease, clock, silentLog, 250);
    expect((await f.admit("a", 7)).ok).toBe(false);
    lease.fail = true;
    clock.t += 1000;
    expect(await f.admit("a", 7)).toEqual({ ok: false, current: 8, from: "lease" });
    expect(await f.admit("a", 8)).toEqual({ ok: true });
    // A failing source is retried after the cache window, not on every request.
    const before = lease.reads;
    await f.admit("a", 8);
    expect(lease.reads).toBe(before);
  });
});
