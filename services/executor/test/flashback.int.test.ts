// The flashback and compare-tables steps against real 10.11 servers, run directly (no NATS),
// and the GTID tools they rely on, measured: what sql_log_bin=0, SET GLOBAL
// gtid_binlog_state and RESET MASTER really do (docs/operations.md, "Flashback: what 10.11
// does"). Lab: db1 the old primary, db2 promoted by hand; root writes db1's extra
// transactions through its read_only.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExecStep, FlashbackOutcome, MarinaConfig, TablesCompared } from "@marina/contracts";
import { type Lab, type MariaNode, waitFor } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSession } from "../src/db.js";
import { DEFAULT_OPTIONS } from "../src/handler.js";
import { runStep } from "../src/steps/index.js";
import { dbTargetOf, resolveClusters } from "../src/targets.js";
import { FakeClock, silentLog } from "./fixtures.js";

type Pos = { b: string; st: string; c: string; s: string };
type Failed = Error & { code: string; data: Record<string, unknown> };

async function positions(node: MariaNode): Promise<Pos> {
  const [r] = await node.query<Pos[]>(
    "SELECT @@gtid_binlog_pos b, @@gtid_binlog_state st, @@gtid_current_pos c, @@gtid_slave_pos s",
  );
  return r!;
}

async function rows(node: MariaNode): Promise<unknown[]> {
  return node.query<unknown[]>("SELECT * FROM app.fb ORDER BY id");
}

const GRANTS = "SELECT, REPLICATION SLAVE, BINLOG MONITOR, BINLOG REPLAY, BINLOG ADMIN";

async function grant(lab: Lab) {
  for (const n of lab.nodes) {
    await n.query("SET SESSION sql_log_bin=0");
    for (const host of ["%", "localhost"]) {
      await n.query(`GRANT ${GRANTS} ON *.* TO 'marina'@'${host}'`);
    }
    await n.query("SET SESSION sql_log_bin=1");
  }
}

describe("flashback on MariaDB 10.11", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 2, semiSync: false });
  let dir = "";
  const clock = new FakeClock(Date.parse("2026-12-05T12:00:00.000Z"));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "marina-fb-x-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function step(server: string, opId: string, s: ExecStep) {
    const lab = getLab();
    const c = lab.credentials;
    const config = MarinaConfig.parse({
      clusters: [
        {
          name: "main",
          servers: lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
          admin: { user: "marina", password: { value: c.marina.password } },
          replication: { user: c.repl.user, password: { value: c.repl.password } },
          saveBinlogs: { dir: join(dir, "saved"), timeoutMs: 60_000 },
        },
      ],
    });
    const cluster = resolveClusters(config, {}).get("main")!;
    const target = cluster.servers.get(server)!;
    const source = "source" in s ? cluster.servers.get(s.source) : undefined;
    clock.t += 1000;
    return (async () => {
      const db = await connectSession(dbTargetOf(cluster, target), DEFAULT_OPTIONS, silentLog);
      try {
        return await runStep(
          {
            db,
            openSession: () =>
              connectSession(dbTargetOf(cluster, target), DEFAULT_OPTIONS, silentLog),
            openSourceSession: () =>
              connectSession(dbTargetOf(cluster, source!), DEFAULT_OPTIONS, silentLog),
            cluster,
            server: target,
            source,
            clock,
            log: silentLog,
            opId,
            executor: "e-test",
          },
          s as Extract<ExecStep, { kind: "flashback" | "compare-tables" }>,
        );
      } finally {
        await db.close();
      }
    })();
  }

  it("the GTID tools, measured", async () => {
    const lab = getLab();
    await grant(lab);
    const db2 = lab.node("db2");
    // db2 alone, as a scratch server: its own writes with sql_log_bin=0 and 1.
    await db2.query("STOP SLAVE");
    await db2.query("RESET SLAVE ALL");
    await db2.query("CREATE TABLE IF NOT EXISTS app.scratch (id INT PRIMARY KEY)");
    await db2.query("INSERT INTO app.scratch VALUES (1)");
    const logged = await positions(db2);
    // sql_log_bin=0 writes no GTID: gtid_binlog_pos does not move (nor lose anything).
    const conn = await db2.connect();
    await conn.query("SET SESSION sql_log_bin=0");
    await conn.query("INSERT INTO app.scratch VALUES (2)");
    await conn.end();
    expect((await positions(db2)).b).toBe(logged.b);
    // SET GLOBAL gtid_binlog_state is refused while the binlog holds any GTID.
    await expect(db2.query(`SET GLOBAL gtid_binlog_state='${logged.b}'`)).rejects.toThrow(
      /RESET MASTER first/,
    );
    // RESET MASTER empties the binlog position and state, and gtid_current_pos with them.
    await db2.query("RESET MASTER");
    expect(await positions(db2)).toMatchObject({ b: "", st: "", c: "" });
    // The last GTID listed for a domain becomes gtid_binlog_pos.
    await db2.query("SET GLOBAL gtid_binlog_state='0-9-3,0-2-4'");
    expect(await positions(db2)).toMatchObject({ b: "0-2-4", st: "0-9-3,0-2-4", c: "0-2-4" });
    await db2.query("RESET MASTER");
    await db2.query("SET GLOBAL gtid_binlog_state='0-2-4,0-9-3'");
    // …and gtid_current_pos takes the binlog's GTID only when this server wrote it
    // (server_id 2), else gtid_slave_pos (empty here).
    expect(await positions(db2)).toMatchObject({ b: "0-9-3", st: "0-2-4,0-9-3", c: "" });
    await db2.query("RESET MASTER");
    await db2.query("DROP TABLE app.scratch");
  });

  it("undoes the extra transactions, resets the GTID state, and the tables compare equal", async () => {
    const lab = getLab();
    const [db1, db2] = [lab.node("db1"), lab.node("db2")];
    // db2 replicates db1 again from scratch.
    await db2.query("RESET MASTER");
    await db2.query("SET GLOBAL gtid_slave_pos=''");
    await db2.query(
      `CHANGE MASTER TO MASTER_HOST='${db1.host}', MASTER_PORT=${db1.port}, MASTER_USER='repl', MASTER_PASSWORD='repl-secret', MASTER_USE_GTID=slave_pos`,
    );
    await db1.query("RESET MASTER");
    await db2.query("START SLAVE");
    await db1.query("DROP TABLE IF EXISTS app.fb");
    await db1.query("CREATE TABLE app.fb (id INT PRIMARY KEY, v VARCHAR(20), n INT, b BLOB)");
    await db1.query("INSERT INTO app.fb VALUES (1,'a',1,'x'),(2,'b',2,NULL),(3,'c',3,'z')");
    await db1.query("SET SESSION gtid_domain_id=5");
    await db1.query("INSERT INTO app.fb VALUES (4,'d',4,'other-domain')");
    await db1.query("SET SESSION gtid_domain_id=0");
    const fork = await positions(db1);
    await db2.query(`SELECT MASTER_GTID_WAIT('${fork.b}', 20)`);
    const before = await rows(db1);
    // The failover: db2 promoted, db1 fenced; root writes through read_only.
    await db2.query("STOP SLAVE");
    await db2.query("RESET SLAVE ALL");
    await db2.query("SET GLOBAL read_only=0");
    await db1.query("SET GLOBAL read_only=1");
    await db1.query("FLUSH BINARY LOGS");
    await db1.query("INSERT INTO app.fb VALUES (5,'e',5,'new')");
    await db1.query("UPDATE app.fb SET v='B', n=20, b='changed' WHERE id=2");
    await db1.query("DELETE FROM app.fb WHERE id=3");
    await db1.query("UPDATE app.fb SET n=n+100");
    const diverged = await positions(db1);
    const extra = diverged.b.split(",").find((g) => g.startsWith("0-"))!;
    const forkPoint = fork.b.split(",").find((g) => g.startsWith("0-"))!;
    // The new primary writes on.
    await db2.query("INSERT INTO app.fb VALUES (10,'new-primary',10,NULL)");

    const out = FlashbackOutcome.parse(
      await step("db1", "op-fb", {
        kind: "flashback",
        extraGtids: extra,
        forkPoint,
        timeoutMs: 60_000,
      }),
    );
    expect(out.alreadyDone).toBe(false);
    expect(out.verdict.undoable).toBe(true);
    expect(out.verdict.count).toBe(4);
    expect(out.verdict.rows).toEqual({ insert: 1, update: 5, delete: 1 });
    expect(out.verdict.tables).toEqual([{ schema: "app", table: "fb" }]);
    expect(out.stateBefore).toBe(diverged.st);
    // Back to the fork point in domain 0, domain 5 untouched.
    expect(out.binlogPos).toBe(fork.b);
    expect(await positions(db1)).toMatchObject({ b: fork.b, c: fork.b });
    expect(await rows(db1)).toEqual(before);
    const files = await readdir(out.path);
    expect(files).toEqual(
      expect.arrayContaining(["flashback.sql", "undo-transactions.sql", "flashback.json"]),
    );
    expect(await readFile(join(out.path, "undo-transactions.sql"), "utf8")).toContain(
      "### DELETE FROM `app`.`fb`",
    );
    // Again: already at the fork point, nothing done.
    const again = FlashbackOutcome.parse(
      await step("db1", "op-fb2", {
        kind: "flashback",
        extraGtids: extra,
        forkPoint,
        timeoutMs: 60_000,
      }),
    );
    expect(again.alreadyDone).toBe(true);
    expect(await rows(db1)).toEqual(before);

    // Rejoined as Marina's rejoin does it, with gtid_strict_mode on.
    await db1.query(`SET GLOBAL gtid_slave_pos='${fork.b}'`);
    await db1.query(
      `CHANGE MASTER TO MASTER_HOST='${db2.host}', MASTER_PORT=${db2.port}, MASTER_USER='repl', MASTER_PASSWORD='repl-secret', MASTER_USE_GTID=slave_pos`,
    );
    await db1.query("START SLAVE");
    const cmp = TablesCompared.parse(
      await step("db1", "op-cmp", {
        kind: "compare-tables",
        source: "db2",
        connection: "",
        tables: [{ schema: "app", table: "fb" }],
        timeoutMs: 20_000,
      }),
    );
    expect(cmp.equal).toBe(true);
    expect(cmp.gtid).toBe((await positions(db2)).b);
    // Started again (its IO thread says "Preparing" for a moment first).
    await waitFor(
      async () => {
        const [st] =
          await db1.query<Array<{ Slave_IO_Running: string; Slave_SQL_Running: string }>>(
            "SHOW SLAVE STATUS",
          );
        return st?.Slave_IO_Running === "Yes" && st?.Slave_SQL_Running === "Yes";
      },
      { timeoutMs: 10_000, message: "db1 replicating again after the comparison" },
    );
    expect((await db1.query<Array<{ m: number }>>("SELECT @@gtid_strict_mode m"))[0]?.m).toBe(1);

    // A row changed behind replication's back: DATA_MISMATCH, replication left stopped.
    const c1 = await db1.connect();
    await c1.query("SET SESSION sql_log_bin=0");
    await c1.query("UPDATE app.fb SET v='drift' WHERE id=1");
    await c1.end();
    const err = (await step("db1", "op-cmp2", {
      kind: "compare-tables",
      source: "db2",
      connection: "",
      tables: [{ schema: "app", table: "fb" }],
      timeoutMs: 20_000,
    }).catch((e: unknown) => e)) as Failed;
    expect(err).toMatchObject({ code: "DATA_MISMATCH" });
    const [st2] = await db1.query<Array<{ Slave_SQL_Running: string }>>("SHOW SLAVE STATUS");
    expect(st2?.Slave_SQL_Running).toBe("No");
  });

  it("refuses DDL, statement events and partial row images with the reason, changing nothing", async () => {
    const lab = getLab();
    const db1 = lab.node("db1");
    // db1 a primary of its own again, from an empty binlog: every transaction is extra.
    await db1.query("STOP SLAVE");
    await db1.query("RESET SLAVE ALL");
    await db1.query("RESET MASTER");
    const forkPoint = "";
    await db1.query("INSERT INTO app.fb VALUES (20,'row',20,NULL)");
    await db1.query("ALTER TABLE app.fb ADD COLUMN extra INT");
    await db1.query("SET SESSION binlog_format=STATEMENT");
    await db1.query("UPDATE app.fb SET n=n+1 WHERE id=20");
    await db1.query("SET SESSION binlog_format=ROW");
    await db1.query("SET SESSION binlog_row_image=MINIMAL");
    await db1.query("UPDATE app.fb SET n=n+1 WHERE id=20");
    await db1.query("SET SESSION binlog_row_image=FULL");
    const diverged = await positions(db1);
    const rowsBefore = await rows(db1);
    const extra = diverged.b.split(",").find((g) => g.startsWith("0-1-"))!;
    const err = (await step("db1", "op-ddl", {
      kind: "flashback",
      extraGtids: extra,
      forkPoint,
      timeoutMs: 60_000,
    }).catch((e: unknown) => e)) as Failed;
    expect(err).toMatchObject({ code: "NOT_UNDOABLE" });
    expect(err.message).toMatch(/DDL: ALTER TABLE app\.fb ADD COLUMN extra INT/);
    expect(err.message).toMatch(/statement event/);
    expect(err.message).toMatch(/partial row image/);
    const verdict = err.data.verdict as { transactions: Array<{ undoable: boolean }> };
    expect(verdict.transactions.map((t) => t.undoable)).toEqual([true, false, false, false]);
    expect(await positions(db1)).toEqual(diverged);
    expect(await rows(db1)).toEqual(rowsBefore);
  });

  it("checks its grants before it changes anything: MISSING_PRIVILEGE names them", async () => {
    const db1 = getLab().node("db1");
    await db1.query("RESET MASTER");
    await db1.query("INSERT INTO app.fb (id, v, n) VALUES (30,'row',30)");
    const diverged = await positions(db1);
    const rowsBefore = await rows(db1);
    await db1.query("SET SESSION sql_log_bin=0");
    for (const host of ["%", "localhost"]) {
      await db1.query(`REVOKE BINLOG REPLAY ON *.* FROM 'marina'@'${host}'`);
    }
    await db1.query("SET SESSION sql_log_bin=1");
    const err = (await step("db1", "op-grants", {
      kind: "flashback",
      extraGtids: diverged.b,
      forkPoint: "",
      timeoutMs: 60_000,
    }).catch((e: unknown) => e)) as Failed;
    expect(err).toMatchObject({ code: "MISSING_PRIVILEGE", data: { stage: "privileges" } });
    expect(err.message).toMatch(/^nothing was changed: .*lacks BINLOG REPLAY \(or SUPER\)/);
    expect(await positions(db1)).toEqual(diverged);
    expect(await rows(db1)).toEqual(rowsBefore);
  });
});
