// A decider whose cluster's persisted state is of a format it cannot read: the runner does
// not take the cluster over and says why, the lease is given up and not competed for, and
// both come back once the state is readable again.
import { initialState } from "@marina/decider-core";
import { parseLeaseRecord } from "@marina/lease-fence";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ClusterRunner } from "../src/cluster-runner.js";
import { UnsupportedFormatError } from "../src/formats.js";
import { Lease } from "../src/lease.js";
import { FakeBus } from "./fake-bus.js";
import { FakeKv } from "./fake-kv.js";
import { cluster as config, FakeStore } from "./fixtures.js";

function lease(o: { mayLead?: () => boolean; format?: number } = {}) {
  const leases = new FakeKv();
  const changes: boolean[] = [];
  let now = 0;
  const l = new Lease(leases, new FakeKv(), {
    cluster: "main",
    holder: "decider-a",
    ttlMs: 3000,
    renewEveryMs: 750,
    now: () => now,
    onChange: (leader) => changes.push(leader),
    ...o,
  });
  return { l, leases, changes, advance: (ms: number) => (now += ms) };
}

describe("Lease with mayLead", () => {
  it("gives the lease up when it may not lead, competes again when it may", async () => {
    let may = true;
    const t = lease({ mayLead: () => may });
    await t.l.step();
    expect(t.l.leader).toBe(true);
    may = false;
    t.advance(750);
    await t.l.step();
    expect(t.l.leader).toBe(false);
    expect((await t.leases.get("main"))?.operation).toBe("DEL"); // released, not left to expire
    t.advance(750);
    await t.l.step();
    expect(t.l.leader).toBe(false);
    expect((await t.leases.get("main"))?.operation).toBe("DEL");
    may = true;
    t.advance(750);
    await t.l.step();
    expect(t.l.leader).toBe(true);
    expect(t.l.epoch).toBe(2);
    expect(t.changes).toEqual([true, false, true]);
  });

  it("writes the lease format it is given (1: no version, as before formats)", async () => {
    const t = lease({ format: 1 });
    await t.l.step();
    const value = JSON.parse(new TextDecoder().decode((await t.leases.get("main"))!.value));
    expect(value).not.toHaveProperty("version");
    expect(parseLeaseRecord(JSON.stringify(value))?.epoch).toBe(1);
    const now = lease();
    await now.l.step();
    expect(parseLeaseRecord((await now.leases.get("main"))!.value)?.version).toBe(2);
  });
});

/** A store whose persisted state is of a newer format until `readable`. */
class NewerStateStore extends FakeStore {
  readable = false;
  loads = 0;
  override async load() {
    this.loads += 1;
    if (!this.readable) {
      throw new UnsupportedFormatError("decider state of main", 3, { oldest: 1, newest: 2 });
    }
    return initialState("main");
  }
}

describe("ClusterRunner and a state it cannot read", () => {
  it("does not take over, logs the code, and leads once the state is readable", async () => {
    const bus = new FakeBus();
    const store = new NewerStateStore(bus.timeline);
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void logs.push(JSON.parse(l)) });
    const runner = new ClusterRunner({
      bus,
      config,
      lease: { leader: true, epoch: 4 },
      store,
      id: "decider-t",
      log,
      now: () => 0,
      tickMs: 3_600_000,
    });
    runner.start();
    try {
      await runner.onLeadership(true, 4);
      expect(runner.refusesState).toBe(true);
      expect(runner.quiet()).toBe(true);
      const line = logs.find((l) => l.code === "UNSUPPORTED_FORMAT");
      expect(line).toMatchObject({ level: 50, format: 3, reads: { oldest: 1, newest: 2 } });
      expect(line?.msg).toMatch(/not leading the cluster/);
      runner.push({ kind: "tick" });
      await runner.whenIdle();
      expect(store.saved).toEqual([]); // not acting: nothing persisted
      expect(await runner.mayLead()).toBe(false);
      store.readable = true;
      // Readable again: the lease is given up once (held through the refusal, it never took
      // the cluster over), then competed for as usual.
      expect(await runner.mayLead()).toBe(false);
      expect(runner.refusesState).toBe(false);
      expect(await runner.mayLead()).toBe(true);
      await runner.onLeadership(true, 5);
      runner.push({ kind: "tick" });
      await runner.whenIdle();
      expect(store.saved.length).toBeGreaterThan(0);
    } finally {
      await runner.close();
    }
  });
});
