// Every step kind against real mariadbd servers and a real nats-server, each run twice to
// show it is idempotent (same end state, second run reports nothing to do).
import { type ExecStep, envelope, ServerObservation } from "@marina/contracts";
import {
  freePort,
  gtidOf,
  type MariaNode,
  replicaStatus,
  semiSyncStatus,
  startWriter,
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

async function readOnly(node: MariaNode): Promise<number> {
  const [row] = await node.query<Array<{ ro: number }>>("SELECT @@global.read_only AS ro");
  return row!.ro;
}

async function connection(node: MariaNode, name = "") {
  return (await replicaStatus(node)).find((c) => c.connectionName === name);
}

describe("executor steps on a 3-node lab", () => {
  // A replication password with a quote, a backslash and a double quote: CHANGE MASTER
  // must carry it intact (the connector escapes it; nothing is spliced into SQL).
  const getLab = useLab({
    shape: "primary-replicas",
    nodes: 3,
    credentials: { repl: { password: `r'e\\p"l` } },
  });
  let executor: RunningExecutor;
  let client: ExecClient;
  let ghostPort: number;
  let epoch = 100;
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];
  const twice = async (server: string, step: ExecStep) => {
    const first = await client.ok(server, step, { epoch });
    const second = await client.ok(server, step, { epoch });
    return [first, second] as const;
  };

  beforeAll(async () => {
    const lab = getLab();
    ghostPort = await freePort();
    executor = await startExecutor({
      config: labConfig(lab, {
        extraServers: [{ name: "ghost", host: "127.0.0.1", port: ghostPort }],
      }),
      id: "e-steps",
      log,
    });
    client = await ExecClient.connect(lab.nats!.url);
    await client.lead(epoch);
  });

  afterAll(async () => {
    await client?.close();
    await executor?.close();
  });

  it("inspect reports the server with the contract's field names", async () => {
    const [db1, db2] = nodes();
    const r = await client.exec("db2", { kind: "inspect" }, { epoch, stepId: "inspect-1" });
    expect(r).toMatchObject({ ok: true, stepId: "inspect-1", executor: "e-steps", error: null });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const obs = ServerObservation.parse(r.data);
    expect(obs).toMatchObject({ serverId: 2, readOnly: true, logBin: true, gtidStrictMode: true });
    expect(obs.gtidCurrentPos).toBe((await gtidOf(db2)).currentPos);
    expect(obs.replication).toHaveLength(1);
    expect(obs.replication[0]).toMatchObject({
      connection: "",
      masterPort: db1.port,
      ioThread: "Yes",
      sqlThread: true,
      usingGtid: "Slave_Pos",
      quietMs: null,
    });
    const primary = ServerObservation.parse(await client.ok("db1", { kind: "inspect" }, { epoch }));
    expect(primary).toMatchObject({ serverId: 1, readOnly: false, replication: [] });
  });

  it("set-read-only changes the setting once", async () => {
    const [, , db3] = nodes();
    const [a, b] = await twice("db3", { kind: "set-read-only", readOnly: false });
    expect(a).toMatchObject({ readOnly: false, previous: true, changed: true });
    expect(b).toMatchObject({ readOnly: false, previous: false, changed: false });
    expect(await readOnly(db3)).toBe(0);
    const [c, d] = await twice("db3", { kind: "set-read-only", readOnly: true });
    expect([c.changed, d.changed]).toEqual([true, false]);
    expect(await readOnly(db3)).toBe(1);
  });

  it("refuses a stale epoch and changes nothing", async () => {
    const [, , db3] = nodes();
    epoch += 1;
    await client.lead(epoch);
    await client.ok("db3", { kind: "inspect" }, { epoch });
    // The executor's lease watch follows within moments; until then the cache is trusted.
    await waitFor(
      async () =>
        (await client.exec("db3", { kind: "inspect" }, { epoch: epoch - 1 })).error?.code ===
        "STALE_EPOCH",
      { timeoutMs: 10_000, message: "the previous epoch refused" },
    );
    const r = await client.exec(
      "db3",
      { kind: "set-read-only", readOnly: false },
      { epoch: epoch - 1 },
    );
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: "STALE_EPOCH", path: "payload.epoch", retryable: false });
    expect(r.data).toEqual({ currentEpoch: epoch });
    expect(await readOnly(db3)).toBe(1);
  });

  it("answers malformed requests with VALIDATION_FAILED naming the field, executing nothing", async () => {
    const [, , db3] = nodes();
    const body = (payload: Record<string, unknown>) =>
      JSON.stringify(envelope("exec-request", "test", payload));
    const base = { cluster: "main", server: "db3", opId: "op1", stepId: "bad-1", epoch };
    const cases: Array<[Record<string, unknown>, string, string | undefined]> = [
      [
        { ...base, step: { kind: "set-read-only", readOnly: "no" } },
        "VALIDATION_FAILED",
        "payload.step.readOnly",
      ],
      [
        { ...base, epoch: "x", step: { kind: "set-read-only", readOnly: false } },
        "VALIDATION_FAILED",
        "payload.epoch",
      ],
      [{ ...base, step: { readOnly: false } }, "VALIDATION_FAILED", "payload.step.kind"],
      [
        { ...base, server: "db9", step: { kind: "set-read-only", readOnly: false } },
        "UNKNOWN_SERVER",
        "payload.server",
      ],
      [
        { ...base, cluster: "nope", step: { kind: "set-read-only", readOnly: false } },
        "UNKNOWN_CLUSTER",
        "payload.cluster",
      ],
    ];
    for (const [payload, code, path] of cases) {
      const reply = await client.raw("main", body(payload));
      expect(reply.type).toBe("exec-result");
      expect(reply.payload).toMatchObject({ ok: false, stepId: "bad-1", executor: "e-steps" });
      expect(reply.payload.error).toMatchObject({ code, path });
    }
    const junk = await client.raw("main", "this is not json");
    expect(junk.payload.error?.code).toBe("BAD_JSON");
    expect(await readOnly(db3)).toBe(1);
  });

  it("reports a server nobody listens for as SERVER_UNREACHABLE (retryable)", async () => {
    const r = await client.exec("ghost", { kind: "inspect" }, { epoch });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: "SERVER_UNREACHABLE", retryable: true });
    expect(r.error?.message).toContain(`127.0.0.1:${ghostPort}`);
  });

  it("stop-replication and start-replication act once; verify-replicating confirms", async () => {
    const [db1, , db3] = nodes();
    const [s1, s2] = await twice("db3", { kind: "stop-replication", connection: "" });
    expect(s1).toMatchObject({ exists: true, wasRunning: true });
    expect(s2).toMatchObject({ exists: true, wasRunning: false });
    expect(await connection(db3)).toMatchObject({ ioRunning: "No", sqlRunning: "No" });
    await writeRows(db1, 3);
    const [a, b] = await twice("db3", { kind: "start-replication", connection: "" });
    expect(a).toMatchObject({ started: true });
    expect(b).toMatchObject({ started: false, alreadyRunning: true });
    const v = await client.ok(
      "db3",
      { kind: "verify-replicating", connection: "", timeoutMs: 15_000 },
      { epoch },
    );
    expect(v.connection).toMatchObject({ ioThread: "Yes", sqlThread: true });
    await waitForConvergence(nodes());
  });

  it("missing connections: stop and reset are done, start is NOT_APPLICABLE", async () => {
    expect(
      await client.ok("db1", { kind: "stop-replication", connection: "nope" }, { epoch }),
    ).toMatchObject({
      exists: false,
    });
    expect(
      await client.ok("db1", { kind: "reset-replication", connection: "nope" }, { epoch }),
    ).toMatchObject({
      existed: false,
    });
    const r = await client.exec(
      "db1",
      { kind: "start-replication", connection: "nope" },
      { epoch },
    );
    expect(r.error?.code).toBe("NOT_APPLICABLE");
  });

  it("start-replication UNTIL stops the SQL thread at the position, also when repeated", async () => {
    const [db1, , db3] = nodes();
    await client.ok("db3", { kind: "stop-replication", connection: "" }, { epoch });
    await writeRows(db1, 1);
    const until = (await gtidOf(db1)).binlogPos;
    await writeRows(db1, 2);
    const step: ExecStep = { kind: "start-replication", connection: "", untilGtid: until };
    for (let i = 0; i < 2; i++) {
      await client.ok("db3", step, { epoch });
      await waitFor(async () => (await connection(db3))?.sqlRunning === "No", {
        timeoutMs: 15_000,
        message: "SQL thread stopped at the UNTIL position",
      });
      expect((await gtidOf(db3)).slavePos).toBe(until);
    }
    // Stopped without an error: verify waits, then reports TIMEOUT.
    const v = await client.exec(
      "db3",
      { kind: "verify-replicating", connection: "", timeoutMs: 500 },
      { epoch },
    );
    expect(v.error?.code).toBe("TIMEOUT");
    await client.ok("db3", { kind: "start-replication", connection: "" }, { epoch });
    await waitForConvergence(nodes());
  });

  it("reset-replication and change-master act once and replication resumes", async () => {
    const [db1, , db3] = nodes();
    const [r1, r2] = await twice("db3", { kind: "reset-replication", connection: "" });
    expect(r1).toMatchObject({ existed: true, stoppedFirst: true });
    expect(r2).toMatchObject({ existed: false });
    expect(await replicaStatus(db3)).toEqual([]);
    const [c1, c2] = await twice("db3", {
      kind: "change-master",
      connection: "",
      source: "db1",
      useGtid: "slave_pos",
    });
    expect(c1).toMatchObject({ changed: true, previous: null, port: db1.port });
    expect(c2).toMatchObject({ changed: false, running: false });
    await client.ok("db3", { kind: "start-replication", connection: "" }, { epoch });
    await client.ok(
      "db3",
      { kind: "verify-replicating", connection: "", timeoutMs: 15_000 },
      { epoch },
    );
    // Already pointing there and running: left running.
    const c3 = await client.ok(
      "db3",
      { kind: "change-master", connection: "", source: "db1", useGtid: "slave_pos" },
      { epoch },
    );
    expect(c3).toMatchObject({ changed: false, running: true });
    await writeRows(db1, 2);
    await waitForConvergence(nodes());
  });

  it("set-gtid-slave-pos skips a broken transaction: stops, sets once, replication resumes", async () => {
    const [db1, , db3] = nodes();
    await db1.query("CREATE TABLE IF NOT EXISTS app.skipme (id INT PRIMARY KEY)");
    await waitForConvergence(nodes());
    // A row only db3 has, then the same key on the primary: db3's SQL thread stops (1062).
    const local = await db3.connect();
    try {
      await local.query("SET SESSION sql_log_bin=0");
      await local.query("INSERT INTO app.skipme VALUES (7)");
    } finally {
      await local.end();
    }
    await db1.query("INSERT INTO app.skipme VALUES (7)");
    // Until db3's SQL thread reaches that event it still replicates: wait for the stop.
    await waitFor(async () => ((await connection(db3))?.lastSqlErrno === 1062 ? true : undefined), {
      timeoutMs: 15_000,
      message: "db3's SQL thread stopped on the duplicate key",
    });
    const broken = await client.exec(
      "db3",
      { kind: "verify-replicating", connection: "", timeoutMs: 30_000 },
      { epoch },
    );
    expect(broken.error?.code).toBe("SQL_ERROR");
    expect(broken.error?.message).toContain("1062");

    const skipTo = (await gtidOf(db1)).binlogPos;
    const [a, b] = await twice("db3", { kind: "set-gtid-slave-pos", pos: skipTo });
    expect(a).toMatchObject({ pos: skipTo, changed: true, stopped: [""] });
    expect(b).toMatchObject({ pos: skipTo, changed: false, stopped: [] });
    expect((await gtidOf(db3)).slavePos).toBe(skipTo);
    await client.ok("db3", { kind: "start-replication", connection: "" }, { epoch });
    await client.ok(
      "db3",
      { kind: "verify-replicating", connection: "", timeoutMs: 15_000 },
      { epoch },
    );
    await writeRows(db1, 1);
    await waitForConvergence(nodes());
  });

  it("wait-gtid returns when reached and TIMEOUTs when not", async () => {
    const [db1] = nodes();
    await writeRows(db1, 2);
    const pos = (await gtidOf(db1)).binlogPos;
    const [a, b] = await twice("db2", { kind: "wait-gtid", pos, timeoutMs: 15_000 });
    expect(a).toMatchObject({ reached: true, pos });
    expect(b).toMatchObject({ reached: true, pos });
    const r = await client.exec(
      "db2",
      { kind: "wait-gtid", pos: "0-1-999999", timeoutMs: 300 },
      { epoch },
    );
    expect(r.error).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(r.data).toMatchObject({ pos: "0-1-999999" });
  });

  it("drain-relay-log waits for the SQL thread to apply what the IO thread received", async () => {
    const [db1, db2] = nodes();
    const ioHas = (pos: string) =>
      waitFor(async () => (await connection(db2))?.gtidIoPos === pos, {
        timeoutMs: 15_000,
        message: `db2 received ${pos}`,
      });
    // SQL thread stopped with events pending: refused at once (it could never drain).
    await db2.query("STOP SLAVE '' SQL_THREAD");
    await writeRows(db1, 1);
    await ioHas((await gtidOf(db1)).binlogPos);
    const stopped = await client.exec(
      "db2",
      { kind: "drain-relay-log", connection: "", timeoutMs: 10_000 },
      { epoch },
    );
    expect(stopped.error?.code).toBe("NOT_APPLICABLE");
    expect(stopped.data).toMatchObject({ pending: (await gtidOf(db1)).binlogPos });

    // A delayed SQL thread: events sit in the relay log for 5 s.
    await db2.query("STOP SLAVE ''");
    await db2.query("CHANGE MASTER '' TO MASTER_DELAY=5");
    await db2.query("START SLAVE ''");
    await writeRows(db1, 1);
    const target = (await gtidOf(db1)).binlogPos;
    await ioHas(target);
    const early = await client.exec(
      "db2",
      { kind: "drain-relay-log", connection: "", timeoutMs: 200 },
      { epoch },
    );
    expect(early.error?.code).toBe("TIMEOUT");
    expect(early.data).toMatchObject({ pending: target });
    const [a, b] = await twice("db2", {
      kind: "drain-relay-log",
      connection: "",
      timeoutMs: 30_000,
    });
    expect(a).toMatchObject({ drained: true, pending: target });
    expect(b).toMatchObject({ drained: true, pending: "" });
    expect((await gtidOf(db2)).slavePos).toBe(target);

    await db2.query("STOP SLAVE ''");
    await db2.query("CHANGE MASTER '' TO MASTER_DELAY=0");
    await db2.query("START SLAVE ''");
  });

  it("set-semi-sync switches each side once; the replica's IO thread is restarted", async () => {
    const [db1, db2] = nodes();
    const [a, b] = await twice("db2", { kind: "set-semi-sync", slave: true });
    expect(a).toMatchObject({ slave: true, changed: true, restartedIoThreads: [""] });
    expect(b).toMatchObject({ slave: true, changed: false, restartedIoThreads: [] });
    const [m1, m2] = await twice("db1", { kind: "set-semi-sync", master: true });
    expect([m1.changed, m2.changed]).toEqual([true, false]);
    await waitFor(
      async () => {
        const [p, r] = await Promise.all([semiSyncStatus(db1), semiSyncStatus(db2)]);
        return p.masterStatus && p.masterClients === 1 && r.slaveStatus;
      },
      { timeoutMs: 15_000, message: "semi-sync on between db1 and db2" },
    );
    const obs = ServerObservation.parse(await client.ok("db1", { kind: "inspect" }, { epoch }));
    expect(obs.semiSync).toMatchObject({
      masterEnabled: true,
      masterStatus: true,
      masterClients: 1,
    });
    // Back off: master side first so no commit waits for an ack that will not come.
    await client.ok("db1", { kind: "set-semi-sync", master: false }, { epoch });
    await client.ok("db2", { kind: "set-semi-sync", slave: false }, { epoch });
    expect(await semiSyncStatus(db2)).toMatchObject({ slaveEnabled: false });
  });

  it("set-semi-sync slave off restarts an IO thread still acknowledging (set off by hand)", async () => {
    const [, db2] = nodes();
    await client.ok("db2", { kind: "set-semi-sync", slave: true }, { epoch });
    await waitFor(async () => (await semiSyncStatus(db2)).slaveStatus, {
      timeoutMs: 15_000,
      message: "db2 a semi-sync replica",
    });
    // Off by hand, no restart: the IO thread still acknowledges.
    await db2.query("SET GLOBAL rpl_semi_sync_slave_enabled = 0");
    expect(await semiSyncStatus(db2)).toMatchObject({ slaveEnabled: false, slaveStatus: true });
    const r = await client.ok("db2", { kind: "set-semi-sync", slave: false }, { epoch });
    expect(r).toMatchObject({ slave: false, changed: true, restartedIoThreads: [""] });
    expect(await semiSyncStatus(db2)).toMatchObject({ slaveEnabled: false, slaveStatus: false });
  });

  it("wait-binlog-stable TIMEOUTs under writes and returns once they stop", async () => {
    const [db1] = nodes();
    const writer = await startWriter(db1, { intervalMs: 10 });
    try {
      await writer.waitForAcks(5);
      const busy = await client.exec(
        "db1",
        { kind: "wait-binlog-stable", stableMs: 1000, timeoutMs: 1500 },
        { epoch },
      );
      expect(busy.error?.code).toBe("TIMEOUT");
    } finally {
      await writer.stop();
    }
    const [a, b] = await twice("db1", {
      kind: "wait-binlog-stable",
      stableMs: 300,
      timeoutMs: 20_000,
    });
    const pos = (await gtidOf(db1)).binlogPos;
    expect(a).toMatchObject({ gtidBinlogPos: pos });
    expect(b).toMatchObject({ gtidBinlogPos: pos, changes: 0 });
    await waitForConvergence(nodes());
  });

  it("kill-clients kills client sessions, not replication, Marina's or (optionally) privileged ones", async () => {
    const [db1, db2] = nodes();
    // Sparing privileged sessions needs the executor's optional grant: SELECT ON mysql.*
    // shows the other accounts' privileges (the next test shows what happens without it).
    await mysqlSelect(db1, true);
    const app = await db1.connect({ user: "app" });
    const rootTcp = await db1.connect({ user: "root", via: "tcp" });
    // Marina's own account (a monitor, another executor) is never a client to kill.
    const marina = await db1.connect({ user: "marina" });
    try {
      const appId = app.threadId;
      const rootId = rootTcp.threadId;
      const marinaId = marina.threadId;
      const inspect = ServerObservation.parse(
        await client.ok("db1", { kind: "inspect" }, { epoch }),
      );
      expect(inspect.clientConnections).toBeGreaterThanOrEqual(2);

      const [a, b] = await twice("db1", { kind: "kill-clients", includePrivileged: false });
      const killedIds = (d: Record<string, unknown>) =>
        (d.killed as Array<{ id: number }>).map((k) => k.id);
      expect(killedIds(a)).toContain(appId);
      expect(killedIds(a)).not.toContain(rootId);
      expect(a.kept).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: rootId, reason: "privileged" }),
          expect.objectContaining({ user: "repl", reason: "replication" }),
        ]),
      );
      expect(killedIds(b)).toEqual([]);
      await expect(app.query("SELECT 1")).rejects.toThrow();
      expect(await rootTcp.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);

      const c = await client.ok(
        "db1",
        { kind: "kill-clients", includePrivileged: true },
        { epoch },
      );
      expect(killedIds(c)).toContain(rootId);
      expect(killedIds(c)).not.toContain(marinaId);
      expect(c.kept).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: marinaId, reason: "marina" })]),
      );
      await expect(rootTcp.query("SELECT 1")).rejects.toThrow();
      expect(await marina.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      // Replication survived: both replicas still receive.
      await db1.query("SELECT 1").catch(() => undefined); // the lab's own root session was a client too
      await writeRows(db1, 1);
      await waitForConvergence(nodes());
      expect(await connection(db2)).toMatchObject({ ioRunning: "Yes", sqlRunning: "Yes" });
    } finally {
      app.destroy();
      rootTcp.destroy();
      marina.destroy();
      await mysqlSelect(db1, false);
    }
  });

  it("kill-clients without the optional grant cannot tell privileged sessions: kills them too", async () => {
    const [db1] = nodes();
    const rootTcp = await db1.connect({ user: "root", via: "tcp" });
    try {
      const r = await client.ok(
        "db1",
        { kind: "kill-clients", includePrivileged: false },
        { epoch },
      );
      const killed = (r.killed as Array<{ id: number }>).map((k) => k.id);
      expect(killed).toContain(rootTcp.threadId);
      expect(r.kept).not.toEqual(
        expect.arrayContaining([expect.objectContaining({ reason: "privileged" })]),
      );
      await expect(rootTcp.query("SELECT 1")).rejects.toThrow();
    } finally {
      rootTcp.destroy();
      await db1.query("SELECT 1").catch(() => undefined); // the lab's own session was killed too
    }
  });
});

/** Grants (or revokes) the executor's optional SELECT ON mysql.* on one node, unlogged. */
async function mysqlSelect(node: MariaNode, on: boolean): Promise<void> {
  const conn = await node.connect();
  try {
    await conn.query("SET SESSION sql_log_bin=0");
    for (const host of ["%", "localhost"]) {
      await conn.query(
        on
          ? `GRANT SELECT ON mysql.* TO 'marina'@'${host}'`
          : `REVOKE SELECT ON mysql.* FROM 'marina'@'${host}'`,
      );
    }
  } finally {
    await conn.end();
  }
}
