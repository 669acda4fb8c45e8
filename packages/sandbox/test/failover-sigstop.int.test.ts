// A frozen primary (SIGSTOP): connections stay open and nothing answers. Its replicas only
// lose it after their IO threads time out (slave_net_timeout=3 in the lab) or hear nothing
// for failover.replicaQuietMs, so the failover waits for that bound. When it thaws it must
// be fenced — read-only, never a second writable primary in the topology — and then
// rejoined (if its history is a prefix of the new primary's) or flagged diverged.
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  isEvent,
  isOperation,
  newPrimary,
  readOnly,
  roleOf,
  slaves,
  topologiesWithTwoPrimaries,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a SIGSTOPped primary", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    // Semi-sync AFTER_SYNC: what the frozen primary acknowledged, a replica has.
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("fails over after the replicas' verification bound, and is fenced when it thaws", async () => {
    const { lab, nc, config } = stack;
    const quietMs = config.clusters[0]!.failover.replicaQuietMs;
    const db1 = lab.node("db1");
    await waitPrimary(nc, "db1");
    const writer = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    await writer.waitForAcks(30);

    await db1.sigstop();
    let thawed = false;
    try {
      const dead = await obs.waitFor(isEvent("PrimaryDead", "db1"), 30_000, "PrimaryDead db1");
      // The evidence that sufficed: every replica lost it (IO thread down or quiet ≥ bound).
      expect(dead.event.reason).toMatch(/every replica lost it/);
      const running = await obs.waitFor(
        isOperation((o) => o.kind === "failover" && o.state === "running"),
        10_000,
        "failover running",
      );
      expect(running.operation.servers.failed).toBe("db1");
      const promoted = await obs.waitFor(newPrimary("db1"), 30_000, "a new primary");
      const primary = lab.node(promoted.topology.primary!);
      const onNew = writer.acked.length;
      await writer.waitForAcks(onNew + 20, 20_000);
      expect(await findMissingIds(primary, writer.acked)).toEqual([]);

      // The monitor lost db1 first (probe timeout) while the replicas still heard it: that
      // phase was reported and not acted on; the decision waited for the replicas' bound.
      const unreachable = obs.seen.find(isEvent("PrimaryUnreachableByMonitor", "db1"));
      expect(unreachable?.event.reason).toMatch(/replicas still hear it/);
      expect(unreachable!.at).toBeLessThan(dead.at);
      for (const m of dead.event.reason.matchAll(/nothing heard for (\d+) ms/g)) {
        expect(Number(m[1])).toBeGreaterThanOrEqual(quietMs);
      }

      await db1.sigcont();
      thawed = true;
      // Fenced: read_only=1 on db1, and only one primary in every published topology.
      await waitFor(() => readOnly(db1), { timeoutMs: 30_000, message: "db1 read_only=1" });
      // Then rejoined, or flagged diverged (an in-flight commit may have been frozen in
      // db1's binlog before any replica got it); either way read-only.
      const settled = await obs.waitFor(
        (o) =>
          (o.kind === "topology" &&
            (roleOf(o.topology, "db1") === "replica" ||
              roleOf(o.topology, "db1") === "diverged")) ||
          (o.kind === "event" && o.event.situation === "OldPrimaryDiverged"),
        60_000,
        "db1 rejoined or flagged",
      );
      if (settled.kind === "topology" && roleOf(settled.topology, "db1") === "replica") {
        const links = await slaves(db1);
        expect(links.map((r) => r.Master_Port)).toEqual([primary.replicationPort]);
      }
      expect(await readOnly(db1)).toBe(true);
      expect(topologiesWithTwoPrimaries(obs)).toEqual([]);
      expect(
        obs.topologies().every((t) => t.writer === null || t.writer.server === t.primary),
      ).toBe(true);
      const later = writer.acked.length;
      await writer.waitForAcks(later + 10, 20_000);
      // No acknowledged write went to the thawed db1: every one is on the new primary.
      expect(await findMissingIds(primary, writer.acked)).toEqual([]);
    } finally {
      if (!thawed) await db1.sigcont();
      await writer.stop();
    }
  });
});
