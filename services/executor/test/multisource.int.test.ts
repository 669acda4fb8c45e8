// Named replication connections on a multi-source lab: db1 (domain 1) and db2 (domain 2)
// are primaries, db3 replicates both through connections 'p1' and 'p2'.
import { ServerObservation } from "@marina/contracts";
import {
  gtidOf,
  type MariaNode,
  replicaStatus,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExecutor, startExecutor } from "../src/index.js";
import { ExecClient, labConfig } from "./exec-client.js";

const log = pino({ level: process.env.LOG_LEVEL ?? "silent" });

// Each primary writes its own table: the same auto-increment ids from two sources would
// collide on the replica.
describe("executor on a multi-source lab", () => {
  const getLab = useLab({ shape: "multi-source", nodes: 3 });
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];
  let executor: RunningExecutor;
  let client: ExecClient;
  const status = async (name: string) =>
    (await replicaStatus(nodes()[2])).find((c) => c.connectionName === name);

  beforeAll(async () => {
    executor = await startExecutor({ config: labConfig(getLab()), id: "e-ms", log });
    client = await ExecClient.connect(getLab().nats!.url);
  });

  afterAll(async () => {
    await client?.close();
    await executor?.close();
  });

  it("inspect lists both named connections", async () => {
    const [db1, db2] = nodes();
    const obs = ServerObservation.parse(await client.ok("db3", { kind: "inspect" }));
    const byName = new Map(obs.replication.map((c) => [c.connection, c]));
    expect([...byName.keys()].sort()).toEqual(["p1", "p2"]);
    expect(byName.get("p1")).toMatchObject({
      masterPort: db1.port,
      ioThread: "Yes",
      sqlThread: true,
    });
    expect(byName.get("p2")).toMatchObject({
      masterPort: db2.port,
      ioThread: "Yes",
      sqlThread: true,
    });
  });

  it("drain-relay-log on one connection ignores another connection's pending domain", async () => {
    const [db1, db2, db3] = nodes();
    // p2's SQL thread stops: domain 2 events pile up in its relay log.
    await db3.query("STOP SLAVE 'p2' SQL_THREAD");
    await writeRows(db2, 2, { table: "rows_d2" });
    const d2 = (await gtidOf(db2)).binlogPos;
    await waitFor(async () => (await status("p2"))?.gtidIoPos.includes(d2) === true, {
      timeoutMs: 15_000,
      message: "p2 received domain 2",
    });
    await writeRows(db1, 2, { table: "rows_d1" });
    const p1 = await client.ok("db3", {
      kind: "drain-relay-log",
      connection: "p1",
      timeoutMs: 15_000,
    });
    expect(p1).toMatchObject({ connection: "p1", drained: true });
    expect(p1.pending as string).not.toMatch(/(^|,)2-/);
    // p2 cannot drain with its SQL thread stopped, and says so at once.
    const p2 = await client.exec("db3", {
      kind: "drain-relay-log",
      connection: "p2",
      timeoutMs: 15_000,
    });
    expect(p2.error?.code).toBe("NOT_APPLICABLE");
    expect(p2.data.pending).toBe(d2);
    await client.ok("db3", { kind: "start-replication", connection: "p2" });
    const again = await client.ok("db3", {
      kind: "drain-relay-log",
      connection: "p2",
      timeoutMs: 15_000,
    });
    expect(again).toMatchObject({ drained: true });
    await waitForConvergence(nodes(), { sources: [db1, db2] });
  });

  it("stop, reset and change-master touch only the named connection", async () => {
    const [db1, db2, db3] = nodes();
    const stop = await client.ok("db3", { kind: "stop-replication", connection: "p2" });
    expect(stop).toMatchObject({ exists: true, wasRunning: true });
    expect(await status("p1")).toMatchObject({ ioRunning: "Yes", sqlRunning: "Yes" });
    for (const existed of [true, false]) {
      expect(await client.ok("db3", { kind: "reset-replication", connection: "p2" })).toMatchObject(
        {
          existed,
        },
      );
    }
    expect((await replicaStatus(db3)).map((c) => c.connectionName)).toEqual(["p1"]);
    const cm = {
      kind: "change-master",
      connection: "p2",
      source: "db2",
      useGtid: "slave_pos",
    } as const;
    expect(await client.ok("db3", cm)).toMatchObject({ changed: true });
    expect(await client.ok("db3", cm)).toMatchObject({ changed: false });
    await client.ok("db3", { kind: "start-replication", connection: "p2" });
    await client.ok("db3", { kind: "verify-replicating", connection: "p2", timeoutMs: 15_000 });
    await writeRows(db2, 1, { table: "rows_d2" });
    await writeRows(db1, 1, { table: "rows_d1" });
    await waitForConvergence(nodes(), { sources: [db1, db2] });
  });

  it("set-gtid-slave-pos stops every running connection (it is global) and leaves them stopped", async () => {
    const [, , db3] = nodes();
    const current = (await gtidOf(db3)).slavePos;
    // Same position written differently: nothing to do, nothing stopped.
    const same = current.split(",").reverse().join(", ");
    expect(await client.ok("db3", { kind: "set-gtid-slave-pos", pos: same })).toMatchObject({
      changed: false,
      stopped: [],
    });
    expect(await status("p1")).toMatchObject({ ioRunning: "Yes" });
  });
});
