// Only the monitor loses the primary (its packets to db1 are dropped; replicas and clients
// still reach db1): Marina reports PrimaryUnreachableByMonitor and does NOT fail over, for
// well past the replicas' verification bound, while a non-SUPER writer keeps writing on db1.
import { startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  cutLoopback,
  type MonitorProcess,
  restoreLoopback,
  spawnMonitor,
  testGid,
} from "./monitor-process.js";
import {
  failoverOps,
  healthLog,
  isEvent,
  readOnly,
  status,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a primary unreachable from the monitor only", () => {
  let stack: Stack;
  let obs: Observer;
  let monitor: MonitorProcess | undefined;
  const gid = testGid();
  let db1Port = 0;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: false, nodes: 3 }, monitor: false });
    obs = observe(stack.nc, "main");
    db1Port = stack.lab.node("db1").port;
    monitor = spawnMonitor(stack.configFile, "m-cut", gid);
  });
  afterAll(async () => {
    // Always undo the firewall change first, whatever failed.
    if (db1Port) restoreLoopback(db1Port, gid);
    await monitor?.stop();
    obs?.close();
    await stack?.close();
  });

  it("reports PrimaryUnreachableByMonitor and keeps db1 primary while it takes writes", async () => {
    const { lab, nc, config } = stack;
    const quietMs = config.clusters[0]!.failover.replicaQuietMs;
    const db1 = lab.node("db1");
    await waitPrimary(nc, "db1", 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nmonitor output:\n${monitor?.output()}`);
    });
    const writer = await startWriter(db1, { intervalMs: 10 });
    await writer.waitForAcks(20);
    const health = healthLog(nc, "db1");
    try {
      cutLoopback(db1Port, gid);
      const ev = await obs.waitFor(
        isEvent("PrimaryUnreachableByMonitor", "db1"),
        20_000,
        "PrimaryUnreachableByMonitor db1",
      );
      expect(ev.event.reason).toMatch(/replicas still hear it/);
      const ackedAtCut = writer.acked.length;
      const failedAtCut = writer.failed.length;

      // Stay cut until the monitor has not reached db1 for 3× the replicas' bound.
      await health.waitCount(
        1,
        (s) => !s.reachable && (s.sinceLastSuccessMs ?? 0) >= 3 * quietMs,
        60_000,
      );
      expect(health.samples.every((s) => s.monitor === "m-cut")).toBe(true);
      expect(failoverOps(obs)).toEqual([]);
      expect(obs.events().filter((e) => e.situation === "PrimaryDead")).toEqual([]);
      expect(obs.topologies().every((t) => t.primary === "db1")).toBe(true);
      expect((await status(nc)).primary).toBe("db1");
      // db1 kept taking writes, untouched (not fenced).
      expect(writer.acked.length).toBeGreaterThan(ackedAtCut + 50);
      expect(writer.failed.length).toBe(failedAtCut);
      expect(await readOnly(db1)).toBe(false);
    } finally {
      restoreLoopback(db1Port, gid);
      health.close();
      await writer.stop();
    }
    // Once the monitor sees it again, it is healthy again.
    await waitFor(
      () =>
        obs.seen.some(
          (o) =>
            isEvent("PrimaryHealthy", "db1")(o) &&
            o.at > (obs.seen.find(isEvent("PrimaryUnreachableByMonitor", "db1"))?.at ?? 0),
        ),
      { timeoutMs: 20_000, message: "PrimaryHealthy db1 after the cut" },
    );
    expect(failoverOps(obs)).toEqual([]);
  });
});
