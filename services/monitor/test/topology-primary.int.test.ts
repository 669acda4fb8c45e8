// Primary with two replicas (semi-sync): observed topology, a broken replica, and history
// read from JetStream by a subscriber that started after the events.
import { type Lab, startLab } from "@marina/lab";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MonitorHandle, startMonitor } from "../src/index.js";
import { HEALTH_STREAM } from "../src/stream.js";
import { labConfig, Recorder, testLogger } from "./int-helpers.js";

describe("monitor on a primary with two replicas", () => {
  let lab: Lab;
  let mon: MonitorHandle;
  let rec: Recorder;

  beforeAll(async () => {
    lab = await startLab({ shape: "primary-replicas", nodes: 3, semiSync: true });
    rec = await Recorder.start(lab.nats!.url);
    mon = await startMonitor({
      config: labConfig(lab, { intervalMs: 300 }),
      monitorId: "m-int",
      log: testLogger(),
      http: false,
    });
    await mon.ready;
  });

  afterAll(async () => {
    await mon?.close();
    await rec?.close();
    await lab?.close();
  });

  it("publishes health for every server, naming the monitor", async () => {
    for (const n of ["db1", "db2", "db3"]) {
      const h = await rec.waitHealth(n, (s) => s.reachable);
      expect(h.source).toBe("monitor/m-int");
      expect(h.payload.monitor).toBe("m-int");
    }
    const primary = (await rec.waitHealth("db1", (s) => s.reachable)).payload.observation!;
    expect(primary.readOnly).toBe(false);
    expect(primary.semiSync).toMatchObject({
      masterEnabled: true,
      masterStatus: true,
      masterClients: 2,
    });
    const replica = (await rec.waitHealth("db2", (s) => s.reachable)).payload.observation!;
    expect(replica.readOnly).toBe(true);
    expect(replica.semiSync.slaveEnabled).toBe(true);
    expect(replica.replication).toHaveLength(1);
    expect(replica.replication[0]).toMatchObject({
      ioThread: "Yes",
      sqlThread: true,
      masterPort: lab.primary.port,
    });
    // quietMs becomes a number once two probes of the link were compared.
    await rec.waitHealth("db2", (s) => s.observation?.replication[0]?.quietMs != null);
    expect(rec.invalid).toEqual([]);
  });

  it("observes the primary and its replicas", async () => {
    const t = await rec.waitObserved((t) => t.replicas.length === 2);
    expect(t).toMatchObject({
      cluster: "main",
      monitor: "m-int",
      primaries: ["db1"],
      replicas: ["db2", "db3"],
      relays: [],
      multiSource: [],
      writableReplicas: [],
      brokenLinks: [],
      unreachable: [],
      standalone: [],
      unknownSources: [],
    });
    expect(t.links.map((l) => [l.replica, l.source, l.state])).toEqual([
      ["db2", "db1", "replicating"],
      ["db3", "db1", "replicating"],
    ]);
  });

  it("observes a replica whose SQL thread stopped on a duplicate key", async () => {
    const p = lab.primary;
    const db3 = lab.node("db3");
    await p.query("CREATE DATABASE IF NOT EXISTS montest");
    await p.query("CREATE TABLE IF NOT EXISTS montest.k (id INT PRIMARY KEY)");
    await rec.waitHealth(
      "db3",
      (s) =>
        (s.observation?.gtidCurrentPos ?? "") !== "" &&
        s.observation?.gtidCurrentPos === rec.of("db1").at(-1)?.payload.observation?.gtidCurrentPos,
    );
    // A row only the replica has (not binlogged), then the same key on the primary.
    const conn = await db3.connect();
    try {
      await conn.query("SET SESSION sql_log_bin=0");
      await conn.query("INSERT INTO montest.k VALUES (42)");
    } finally {
      await conn.end();
    }
    await p.query("INSERT INTO montest.k VALUES (42)");
    const t = await rec.waitObserved((t) => t.brokenLinks.length === 1);
    expect(t.brokenLinks[0]).toMatchObject({ replica: "db3", source: "db1", state: "broken" });
    expect(t.brokenLinks[0]!.reason).toMatch(/^SQL error 1062/);
    expect(t.replicas).toEqual(["db2", "db3"]);
    const h = await rec.waitHealth(
      "db3",
      (s) => s.observation?.replication[0]?.lastSqlErrno === 1062,
    );
    expect(h.payload.observation!.replication[0]!.sqlThread).toBe(false);
  });

  it("keeps history in JetStream for a subscriber that starts later", async () => {
    const published = rec.of("db1").length;
    expect(published).toBeGreaterThan(0);
    const nc = await connect({ servers: lab.nats!.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(HEALTH_STREAM);
      expect(info.config.subjects).toEqual(["marina.v1.*.health.*", "marina.v1.*.observed"]);
      const js = jetstream(nc);
      const consumer = await js.consumers.get(HEALTH_STREAM, {
        filter_subjects: "marina.v1.main.observed",
        deliver_policy: DeliverPolicy.All,
      });
      const first = await consumer.next({ expires: 5000 });
      expect(first).not.toBeNull();
      const doc = first!.json<{ type: string; source: string; payload: { primaries: string[] } }>();
      expect(doc).toMatchObject({ type: "observed-topology", source: "monitor/m-int" });
      expect(doc.payload.primaries).toEqual(["db1"]);
      const health = await js.consumers.get(HEALTH_STREAM, {
        filter_subjects: "marina.v1.main.health.db1",
        deliver_policy: DeliverPolicy.All,
      });
      const h = await health.next({ expires: 5000 });
      expect(h!.json<{ payload: { probe: number } }>().payload.probe).toBe(1);
    } finally {
      await nc.close();
    }
  });
});
