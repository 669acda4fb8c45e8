// A rolling upgrade, and its rollback, with two deciders of different releases over a real
// NATS KV. The "old" one is this code told to read and write format 1 of everything (what
// the release before formats were versioned wrote: formats.ts), so it refuses a newer
// state as an old release would. Leadership moves both ways — by handover to the preferred
// decider and by a clean stop — with a higher epoch each time; the state always stays in a
// format both read while both are alive, and keeps its decisions.
import { STATE_FORMAT } from "@marina/decider-core";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rendezvousWeight } from "../src/assignment.js";
import { formatOne } from "./format-fixtures.js";
import { type FormatWorld, formatWorld, type RunningDecider } from "./format-world.js";

const recorded = formatOne("state-after-failover");
const STATE_KEY = "main.decider";
const OLD = { state: 1, lease: 1, presence: 1 };

// The new release's decider is the cluster's preferred one, so it is handed the cluster.
const [NEW, OLD_ID] = ["decider-a", "decider-b"].sort(
  (x, y) => rendezvousWeight("main", y) - rendezvousWeight("main", x),
) as [string, string];

describe("an old and a new decider", () => {
  let w: FormatWorld;
  beforeAll(async () => {
    w = await formatWorld();
  });
  afterAll(async () => {
    await w?.close();
  });

  type Stored = Record<string, unknown> & { version: number; writtenBy?: unknown };

  /** The state once written after `revision`, in `format`. */
  async function written(after: number, format: number): Promise<Stored & { revision: number }> {
    return waitFor(async () => {
      const e = await w.read(w.state, STATE_KEY);
      const v = e?.value as Stored | undefined;
      return e && e.revision > after && v?.version === format
        ? { ...v, revision: e.revision }
        : undefined;
    }, 15_000);
  }

  function expectCarried(v: Record<string, unknown>) {
    expect(v.primary).toBe("db2");
    expect(v.failovers).toEqual(recorded.failovers);
    expect(v.maintenance).toEqual(recorded.maintenance);
    expect(v.exPrimaries).toEqual(recorded.exPrimaries);
    expect(v.history).toEqual(recorded.history);
  }

  async function leaseRecord() {
    return (await w.read(w.leases, "main"))?.value as Record<string, unknown> | undefined;
  }

  /** Waits until `d` alone of `all` leads; returns its epoch. */
  async function leadsAlone(d: RunningDecider, all: RunningDecider[]): Promise<number> {
    await waitFor(() => all.every((x) => x.leads() === (x === d)), 15_000);
    return d.epoch();
  }

  it("hand the cluster over both ways, upgrade, and roll back, losing nothing", async () => {
    await w.put(w.state, STATE_KEY, recorded);
    await w.put(w.state, "main.epoch", "1");
    const seeded = (await w.read(w.state, STATE_KEY))!.revision;

    // 1. The old release leads alone: it writes format 1, the lease without a version.
    const old = await w.decider(OLD_ID, { formats: OLD });
    const e1 = await leadsAlone(old, [old]);
    let s = await written(seeded, 1);
    expect(s).not.toHaveProperty("writtenBy");
    expectCarried(s);
    expect(await leaseRecord()).toEqual(
      expect.not.objectContaining({ version: expect.anything() }),
    );

    // 2. old → new, by handover to the preferred decider. The new one writes format 1: the
    //    old one is alive and reads no newer.
    const fresh = await w.decider(NEW);
    const e2 = await leadsAlone(fresh, [old, fresh]);
    expect(e2).toBeGreaterThan(e1);
    expect(await leaseRecord()).toMatchObject({ version: 2, holder: NEW, epoch: e2 });
    s = await written(s.revision, 1);
    expectCarried(s);
    expect(fresh.logs).toContainEqual(
      expect.objectContaining({ stateFormat: 1, msg: "decider state written in this format" }),
    );

    const formatsWritten = (d: RunningDecider) =>
      d.logs
        .filter((l) => l.msg === "decider state written in this format")
        .map((l) => l.stateFormat);
    expect(formatsWritten(fresh)).toEqual([1]); // never a newer one while the old one lives

    // 3. new → old, by a clean stop: the old one reads what the new one wrote.
    await fresh.app.close();
    const e3 = await leadsAlone(old, [old]);
    expect(e3).toBeGreaterThan(e2);
    s = await written(s.revision, 1);
    expectCarried(s);

    // 4. Upgrade done: the new release takes over by handover, the old one stops, and the
    //    state is written in the current format.
    const upgraded = await w.decider(NEW);
    const e4 = await leadsAlone(upgraded, [old, upgraded]);
    expect(e4).toBeGreaterThan(e3);
    await old.app.close();
    s = await written(s.revision, STATE_FORMAT);
    expect(s.writtenBy).toEqual({ decider: NEW, epoch: e4 });
    expectCarried(s);

    // 5. Rollback: an old decider comes back; the leader writes format 1 again at once, so
    //    the old one can take over when the new one stops.
    const back = await w.decider(OLD_ID, { formats: OLD });
    s = await written(s.revision, 1);
    expect(upgraded.leads()).toBe(true);
    expect(formatsWritten(upgraded)).toEqual([1, STATE_FORMAT, 1]);
    await upgraded.app.close();
    const e5 = await leadsAlone(back, [back]);
    expect(e5).toBeGreaterThan(e4);
    s = await written(s.revision, 1);
    expectCarried(s);
    for (const d of [old, back]) {
      expect(d.logs.filter((l) => l.code === "UNSUPPORTED_FORMAT")).toEqual([]);
    }
  });
});
