// Observed topology of a chain (relay) and of a multi-source replica, on real servers.
import { type Lab, startLab } from "@marina/lab";
import { afterEach, describe, expect, it } from "vitest";
import { type MonitorHandle, startMonitor } from "../src/index.js";
import { labConfig, Recorder, testLogger } from "./int-helpers.js";

describe("observed topology of other shapes", () => {
  let lab: Lab | undefined;
  let mon: MonitorHandle | undefined;
  let rec: Recorder | undefined;

  afterEach(async () => {
    await mon?.close();
    await rec?.close();
    await lab?.close();
    lab = undefined;
    mon = undefined;
    rec = undefined;
  });

  async function run(shape: "chain" | "multi-source") {
    lab = await startLab({ shape, nodes: 3 });
    rec = await Recorder.start(lab.nats!.url);
    mon = await startMonitor({
      config: labConfig(lab, { intervalMs: 300 }),
      monitorId: "m-shapes",
      log: testLogger(),
      http: false,
    });
    await mon.ready;
    return { lab, rec };
  }

  it("sees a chain db1 → db2 → db3 with db2 as relay", async () => {
    const { rec } = await run("chain");
    const t = await rec.waitObserved((t) => t.replicas.length === 2);
    expect(t).toMatchObject({
      primaries: ["db1"],
      replicas: ["db2", "db3"],
      relays: ["db2"],
      multiSource: [],
      brokenLinks: [],
      unreachable: [],
    });
    expect(t.links.map((l) => [l.replica, l.source, l.state])).toEqual([
      ["db2", "db1", "replicating"],
      ["db3", "db2", "replicating"],
    ]);
  });

  it("sees the multi-source replica: two named connections, two domains", async () => {
    const { lab, rec } = await run("multi-source");
    const t = await rec.waitObserved((t) => t.replicas.length === 1);
    expect(t).toMatchObject({
      primaries: ["db1", "db2"],
      replicas: ["db3"],
      multiSource: ["db3"],
      relays: [],
      brokenLinks: [],
    });
    expect(t.links.map((l) => [l.replica, l.connection, l.source, l.state])).toEqual([
      ["db3", "p1", "db1", "replicating"],
      ["db3", "p2", "db2", "replicating"],
    ]);
    // A write on each primary shows up in its own domain on the replica.
    await lab.node("db1").query("CREATE DATABASE d1");
    await lab.node("db2").query("CREATE DATABASE d2");
    const h = await rec.waitHealth("db3", (s) => {
      const pos = s.observation?.gtidSlavePos ?? "";
      return /(^|,)1-1-\d+/.test(pos) && /(^|,)2-2-\d+/.test(pos);
    });
    const conns = h.payload.observation!.replication;
    expect(conns.find((c) => c.connection === "p1")!.gtidIoPos).toMatch(/1-1-/);
    expect(conns.find((c) => c.connection === "p2")!.gtidIoPos).toMatch(/2-2-/);
    expect(
      (await rec.waitHealth("db1", (s) => s.reachable)).payload.observation!.gtidDomainId,
    ).toBe(1);
    expect(
      (await rec.waitHealth("db2", (s) => s.reachable)).payload.observation!.gtidDomainId,
    ).toBe(2);
  });
});
