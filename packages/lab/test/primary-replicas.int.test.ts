import { describe, expect, it } from "vitest";
import {
  checksumTables,
  countRows,
  findMissingIds,
  gtidOf,
  type MariaNode,
  parseGtidList,
  semiSyncStatus,
  startWriter,
  waitForConvergence,
  waitForReplicating,
  writeRows,
} from "../src/index.js";
import { useLab } from "../src/vitest.js";

// One 3-node semi-sync lab; the tests run in order and the destructive ones come last.
describe("primary-replicas lab with semi-sync", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 3, semiSync: true, nats: false });
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];

  it("replicates a write on the primary to both replicas with equal GTIDs", async () => {
    const [db1, db2, db3] = nodes();
    const ids = await writeRows(db1, 5);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    const target = await waitForConvergence(getLab().nodes, { timeoutMs: 10_000 });
    expect(parseGtidList(target).get(0)?.serverId).toBe(1);

    const pos = await Promise.all([db1, db2, db3].map(gtidOf));
    expect(pos[0]?.currentPos).toBe(target);
    expect(new Set(pos.map((p) => p.currentPos)).size).toBe(1);
    expect(await countRows(db3, "lab_rows")).toBe(5);
    const sums = await Promise.all([db1, db2, db3].map((n) => checksumTables(n, ["lab_rows"])));
    expect(sums[1]).toEqual(sums[0]);
    expect(sums[2]).toEqual(sums[0]);
  });

  it("has semi-sync ON on the primary with 2 clients, and on both replicas", async () => {
    const [db1, db2, db3] = nodes();
    const primary = await semiSyncStatus(db1);
    expect(primary).toMatchObject({ masterEnabled: true, masterStatus: true, masterClients: 2 });
    for (const r of [db2, db3]) {
      expect(await semiSyncStatus(r)).toMatchObject({ slaveStatus: true, masterEnabled: false });
    }
  });

  it("refuses writes of the non-SUPER app user on a read_only replica", async () => {
    const [, db2] = nodes();
    await expect(writeRows(db2, 1)).rejects.toMatchObject({ errno: 1290 });
    const app = await db2.connect({ user: "app" });
    try {
      // The table exists (replicated); the INSERT itself is refused.
      await expect(
        app.query("INSERT INTO app.lab_rows (payload) VALUES ('nope')"),
      ).rejects.toMatchObject({ errno: 1290, code: "ER_OPTION_PREVENTS_STATEMENT" });
    } finally {
      await app.end();
    }
    // root bypasses read_only (READ_ONLY ADMIN), which is why writers must never be root.
    const [row] = await db2.query<{ ro: number }[]>("SELECT @@global.read_only AS ro");
    expect(row?.ro).toBe(1);
  });

  it("loses no acknowledged write of the background writer", async () => {
    const [db1, db2, db3] = nodes();
    const writer = await startWriter(db1, { intervalMs: 5 });
    await writer.waitForAcks(40);
    const report = await writer.stop();
    expect(report.failed).toEqual([]);
    expect(report.acked.length).toBeGreaterThanOrEqual(40);
    await waitForConvergence(getLab().nodes, { timeoutMs: 10_000 });
    for (const n of [db1, db2, db3]) expect(await findMissingIds(n, report.acked)).toEqual([]);
  });

  it("times out a query on a SIGSTOPped server and recovers after SIGCONT", async () => {
    const [db1, , db3] = nodes();
    const conn = await db3.connect({ socketTimeoutMs: 500 });
    try {
      await db3.sigstop();
      const t0 = Date.now();
      await expect(conn.query("SELECT 1")).rejects.toMatchObject({ code: "ER_SOCKET_TIMEOUT" });
      expect(Date.now() - t0).toBeLessThan(3_000);
      // A new connection fails at connectTimeout rather than hanging.
      await expect(db3.query("SELECT 1", [], { timeoutMs: 500 })).rejects.toBeDefined();
      expect(db3.isRunning()).toBe(true);
    } finally {
      await db3.sigcont();
      conn.destroy();
    }
    expect(await db3.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await writeRows(db1, 2);
    await waitForConvergence(getLab().nodes, { timeoutMs: 15_000 });
  });

  it("resumes a replica after kill -9 and restart", async () => {
    const [db1, db2] = nodes();
    const oldPid = db2.pid;
    await db2.kill9();
    expect(db2.isRunning()).toBe(false);
    expect(db2.pid).toBeUndefined();
    await writeRows(db1, 3); // acked by db3 alone
    await db2.start();
    expect(db2.pid).not.toBe(oldPid);
    await waitForReplicating(db2);
    await waitForConvergence(getLab().nodes, { timeoutMs: 15_000 });
    expect(await countRows(db2, "lab_rows")).toBe(await countRows(db1, "lab_rows"));
  });

  it("brings the primary back after kill -9 and restart", async () => {
    const [db1, db2, db3] = nodes();
    const before = await gtidOf(db1);
    await db1.kill9();
    await expect(db1.query("SELECT 1", [], { timeoutMs: 500 })).rejects.toBeDefined();
    await db1.start();
    expect(db1.isRunning()).toBe(true);
    expect((await gtidOf(db1)).binlogPos).toBe(before.binlogPos);
    // read_only=ON in every my.cnf (the recommended setting): a restarted primary comes back
    // read-only until whoever manages it (Marina; here the test) turns writes back on.
    expect(await db1.query("SELECT @@global.read_only AS ro")).toEqual([{ ro: 1 }]);
    await db1.query("SET GLOBAL read_only=0");
    await Promise.all([waitForReplicating(db2), waitForReplicating(db3)]);
    await writeRows(db1, 1);
    await waitForConvergence(getLab().nodes, { timeoutMs: 15_000 });
  });
});
