// A crashed primary that committed what no replica received comes back DIVERGED: Marina
// must fail over, then flag it (OldPrimaryDiverged with its extra GTIDs), keep it read-only
// and never attach it to the new primary. Lab: 3 nodes, no semi-sync, a non-SUPER writer.
import { missingFrom, parseGtidList } from "@marina/contracts";
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  binlogPos,
  binlogState,
  healthLog,
  isEvent,
  isOperation,
  isTopology,
  newPrimary,
  readOnly,
  roleOf,
  slaves,
  status,
  topologiesWithTwoPrimaries,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a diverged old primary", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: false, nodes: 3 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("is flagged OldPrimaryDiverged with its extra GTIDs, fenced, and never rejoined", async () => {
    const { lab, nc } = stack;
    const db1 = lab.node("db1");
    await waitPrimary(nc, "db1");
    const writer = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    await writer.waitForAcks(30);

    // From here on db1 commits what no replica receives.
    await Promise.all(["db2", "db3"].map((r) => lab.node(r).query("STOP SLAVE IO_THREAD")));
    const atStop = writer.acked.length;
    await writer.waitForAcks(atStop + 20);
    await db1.kill9();

    const promoted = await obs.waitFor(newPrimary("db1"), 30_000, "a new primary");
    const primaryName = promoted.topology.primary!;
    const primary = lab.node(primaryName);
    // The writer follows the topology and writes on the new primary.
    const onNew = writer.acked.length;
    await writer.waitForAcks(onNew + 20, 20_000);
    // The premise holds: db1 acknowledged writes the new primary never got.
    expect((await findMissingIds(primary, writer.acked)).length).toBeGreaterThan(0);

    const health = healthLog(nc, "db1");
    try {
      await db1.start();
      const ev = await obs.waitFor(
        isEvent("OldPrimaryDiverged", "db1"),
        30_000,
        "OldPrimaryDiverged for db1",
      );
      // The extra GTIDs are db1's own last transaction, which the new primary lacks.
      const db1Pos = await binlogPos(db1);
      expect(ev.event.extraGtids).toBe(db1Pos);
      const history = parseGtidList(await binlogState(primary));
      expect(missingFrom(history, parseGtidList(db1Pos)).length).toBe(1);

      await obs.waitFor(
        isTopology((t) => roleOf(t, "db1") === "diverged"),
        20_000,
        "db1 with role diverged",
      );
      await waitFor(() => readOnly(db1), { timeoutMs: 20_000, message: "db1 read_only=1" });

      // Give a wrong rejoin every chance to happen: 6 more healthy samples of db1 (~3 s).
      await health.waitCount(6, (s) => s.reachable, 30_000);
      expect(await readOnly(db1)).toBe(true);
      const links = await slaves(db1);
      expect(links.filter((r) => r.Master_Port === primary.port)).toEqual([]);
      expect(obs.seen.some(isOperation((o) => o.kind === "rejoin"))).toBe(false);
      const st = await status(nc);
      expect(st.primary).toBe(primaryName);
      expect(st.diverged).toEqual({ db1: db1Pos });
      expect(topologiesWithTwoPrimaries(obs)).toEqual([]);
      // The writer still writes on the new primary, undisturbed.
      const later = writer.acked.length;
      await writer.waitForAcks(later + 10, 20_000);
    } finally {
      health.close();
      await writer.stop();
    }
  });
});
