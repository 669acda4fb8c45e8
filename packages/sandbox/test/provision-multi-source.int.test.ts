// provision-replica end to end: two primaries in two clusters take writes throughout while a
// third server is provisioned as their multi-source replica. Lab shape multi-source (db1
// domain 1, db2 domain 2, db3 and db4 replicating both), Marina configured as clusters p1 =
// {db1, db3, db4} and p2 = {db2, db3, db4} (the shared-replica model of
// failover-multi-source; db4 is the replica that already exists). db3's connections are
// dropped first, so it starts as a server replicating nothing. One agent per node: db1's files its server
// under p1, db2's under p2, db3's under p1 (the target's cluster, where the command goes).
// The setup is shared with backup-provision.int.test.ts (provision-helpers.ts).
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Observer } from "../src/observer.js";
import type { Stack } from "../src/stack.js";
import {
  createSourceTables,
  type ProvisionLab,
  rows,
  StallWriter,
  startProvisionLab,
  tableFacts,
} from "./provision-helpers.js";
import { command, isOperation, slaves, status } from "./scenario-helpers.js";

describe("provision-replica: a multi-source replica of two live primaries", () => {
  let lab: ProvisionLab;
  let stack: Stack;
  let p1: Observer;
  const node = (n: string) => lab.node(n);
  const writers: StallWriter[] = [];

  beforeAll(async () => {
    lab = await startProvisionLab();
    stack = lab.stack;
    p1 = lab.p1;
  });

  afterAll(async () => {
    for (const w of writers) await w.stop().catch(() => {});
    await lab?.close();
  });

  const provision = (payload: object) =>
    command(stack.nc, "provision-replica", JSON.stringify(payload), "p1");
  const sources = [
    { cluster: "p1", databases: ["src1"] },
    { cluster: "p2", databases: ["src2"] },
  ];

  it("refuses colliding GTID domains, in a dry-run and for real, naming the fix", async () => {
    const db2 = node("db2");
    await db2.query("SET GLOBAL gtid_domain_id = 1");
    try {
      const dry = await provision({
        target: "db3",
        sources: [{ cluster: "p1" }, { cluster: "p2" }],
        dryRun: true,
      });
      expect(dry.ok).toBe(true);
      const report = dry.ok ? dry.dryRun : undefined;
      expect(report?.outcome).toBe("refused");
      expect(report?.error?.code).toBe("PROVISION_CHECK_FAILED");
      expect(report?.error?.message).toMatch(/both write in gtid_domain_id 1/);
      const real = await provision({
        target: "db3",
        sources: [{ cluster: "p1" }, { cluster: "p2" }],
      });
      expect(real.ok).toBe(false);
      if (!real.ok) {
        expect(real.error.code).toBe("PROVISION_CHECK_FAILED");
        expect(real.error.message).toMatch(
          /gtid_domain_id 1: .*give one cluster another gtid_domain_id/,
        );
        // The target holds the lab's databases: not empty, overwrite named as the fix.
        expect(real.error.message).toMatch(/db3 is not empty .*overwrite: true/);
      }
      // Sent to p2, whose lease does not fence db3's agent (it files db3 under p1).
      const elsewhere = await command(
        stack.nc,
        "provision-replica",
        JSON.stringify({ target: "db3", sources: [{ cluster: "p1" }, { cluster: "p2" }] }),
        "p2",
      );
      expect(elsewhere.ok).toBe(false);
      if (!elsewhere.ok) {
        expect(elsewhere.error.message).toMatch(
          /files it under cluster p1: send provision-replica to p1/,
        );
      }
      expect(p1.operations().filter((o) => o.kind === "provision")).toEqual([]);
    } finally {
      await db2.query("SET GLOBAL gtid_domain_id = 2");
    }
  });

  it("a failure part-way leaves db3 read-only, stopped and in maintenance; run again it is refused until overwrite", async () => {
    const db1 = node("db1");
    const db2 = node("db2");
    const db3 = node("db3");
    await createSourceTables(db1, "src1");
    await createSourceTables(db2, "src2");
    // A view over a table that is gone: src2's dump fails half-way (after src1 was loaded).
    await db2.query("CREATE TABLE src2.gone (i INT PRIMARY KEY) ENGINE=InnoDB");
    await db2.query("CREATE VIEW src2.v AS SELECT i FROM src2.gone");
    await db2.query("DROP TABLE src2.gone");
    const reply = await provision({ target: "db3", sources, overwrite: true });
    expect(reply.ok).toBe(true);
    const opId = reply.ok ? reply.opId : undefined;
    const end = await p1.waitFor(
      isOperation((o) => o.opId === opId && o.state !== "running"),
      120_000,
      "provision result",
    );
    if (end.kind !== "operation") throw new Error("not an operation");
    console.log(`failed provisioning: [${end.operation.phase}] ${end.operation.message}`);
    expect(end.operation.state).toBe("failed");
    expect(end.operation.phase).toBe("copy:p2");
    expect(end.operation.message).toMatch(/done: .*src1 of p1 loaded at 1-1-\d+/);
    expect(end.operation.message).toMatch(/overwrite: true to start clean/);
    // Flagged, not half-attached looking healthy.
    const [ro] = await rows(db3, "SELECT @@read_only AS ro");
    expect(Number(ro?.ro)).toBe(1);
    expect(
      (await slaves(db3)).filter(
        (r) => r.Slave_IO_Running === "Yes" || r.Slave_SQL_Running === "Yes",
      ),
    ).toEqual([]);
    for (const c of ["p1", "p2"]) {
      expect((await status(stack.nc, c)).maintenance).toContain("db3");
    }
    await db2.query("DROP VIEW src2.v");
    // Again without overwrite: refused, db3 holds src1 and what src2's load began.
    const again = await provision({ target: "db3", sources });
    expect(again.ok).toBe(false);
    if (!again.ok)
      expect(again.error.message).toMatch(
        /db3 is not empty \(databases src1, src2\).*overwrite: true/,
      );
  });

  it("provisions db3 from db1 and db2 while both take writes; rows match, both domains in gtid_slave_pos", async () => {
    const db1 = node("db1");
    const db2 = node("db2");
    const db3 = node("db3");
    // A baseline of each writer's longest wait before provisioning.
    const base = [new StallWriter(db1, "src1", 1_000_000), new StallWriter(db2, "src2", 1_000_000)];
    for (const w of base) w.start();
    await new Promise((r) => setTimeout(r, 3000));
    for (const w of base) await w.stop();

    const w1 = new StallWriter(db1, "src1", 2_000_000);
    const w2 = new StallWriter(db2, "src2", 2_000_000);
    writers.push(w1, w2);
    w1.start();
    w2.start();
    await waitFor(async () => w1.writes > 20 && w2.writes > 20, {
      timeoutMs: 10_000,
      message: "writers running",
    });

    const dry = await provision({ target: "db3", sources, overwrite: true, dryRun: true });
    expect(dry.ok && dry.dryRun?.outcome).toBe("accepted");
    const phases = dry.ok ? (dry.dryRun?.operation?.phases ?? []) : [];
    expect(phases.map((p) => p.name)).toEqual(["prepare", "copy:p1", "copy:p2", "attach"]);

    const writesBefore = [w1.writes, w2.writes];
    const reply = await provision({ target: "db3", sources, overwrite: true });
    expect(reply.ok).toBe(true);
    const opId = reply.ok ? reply.opId : undefined;
    const end = await p1.waitFor(
      isOperation((o) => o.opId === opId && o.state !== "running"),
      180_000,
      "provision result",
    );
    if (end.kind !== "operation") throw new Error("not an operation");
    const events = p1.operations().filter((o) => o.opId === opId);
    console.log(
      `provision ${opId}: ${end.operation.state} — ${end.operation.message}\n` +
        events
          .map(
            (e) =>
              `  [${e.phase}] ${e.message}${e.progress ? ` (${e.progress.bytesPerSecond} B/s)` : ""}`,
          )
          .join("\n") +
        `\n  timings: ${JSON.stringify(end.operation.timings)}`,
    );
    expect(end.operation.state).toBe("succeeded");
    for (const c of ["p1", "p2"]) {
      expect((await status(stack.nc, c)).maintenance).not.toContain("db3");
    }
    // Progress per source in the events.
    expect(events.some((e) => /^copy:p1 done/.test(e.message))).toBe(true);
    expect(events.some((e) => /^copy:p2 done/.test(e.message))).toBe(true);
    // The donors' byte counts as progress (the first report may come before any byte).
    expect(events.some((e) => e.progress !== null)).toBe(true);

    // Writes went on during provisioning.
    expect(w1.writes).toBeGreaterThan(writesBefore[0]! + 10);
    expect(w2.writes).toBeGreaterThan(writesBefore[1]! + 10);

    // Both connections replicate, with their filters; never a duplicate-key error.
    const seenErrors = new Set<number>();
    const check = async () => {
      for (const r of await slaves(db3)) {
        const errno = Number(r.Last_SQL_Errno ?? 0);
        if (errno !== 0) seenErrors.add(errno);
      }
    };
    await check();
    await new Promise((r) => setTimeout(r, 2000));
    await check();
    await w1.stop();
    await w2.stop();
    console.log(
      `longest write stall during provisioning: db1 ${w1.maxMs.toFixed(0)} ms, db2 ${w2.maxMs.toFixed(0)} ms ` +
        `(baseline before: db1 ${base[0]!.maxMs.toFixed(0)} ms, db2 ${base[1]!.maxMs.toFixed(0)} ms; ` +
        `${w1.writes} and ${w2.writes} write pairs, errors ${w1.errors.length + w2.errors.length})`,
    );
    expect(w1.errors).toEqual([]);
    expect(w2.errors).toEqual([]);

    // Caught up: each source's tables on db3 match the source's exactly.
    for (const [src, db] of [
      [db1, "src1"],
      [db2, "src2"],
    ] as const) {
      const want = await tableFacts(src, db);
      await waitFor(
        async () => {
          await check();
          return JSON.stringify(await tableFacts(db3, db)) === JSON.stringify(want);
        },
        { timeoutMs: 60_000, message: `${db} on db3 equal to its source` },
      );
      expect(await tableFacts(db3, db)).toEqual(want);
    }
    await check();
    expect([...seenErrors]).toEqual([]);

    const links = (await slaves(db3)).map((r) => ({
      name: r.Connection_name,
      io: r.Slave_IO_Running,
      sql: r.Slave_SQL_Running,
      filter: r.Replicate_Wild_Do_Table,
      port: r.Master_Port,
      errno: Number(r.Last_SQL_Errno ?? 0),
    }));
    expect(links.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: "p1", io: "Yes", sql: "Yes", filter: "src1.%", port: db1.port, errno: 0 },
      { name: "p2", io: "Yes", sql: "Yes", filter: "src2.%", port: db2.port, errno: 0 },
    ]);
    const [pos] = await rows(db3, "SELECT @@gtid_slave_pos AS p, @@read_only AS ro");
    const domains = String(pos?.p)
      .split(",")
      .map((g) => Number(g.split("-")[0]));
    expect(new Set(domains)).toEqual(new Set([1, 2]));
    expect(Number(pos?.ro)).toBe(1);
    // No local GTID from the loads: db3's own binlog holds nothing of its own domain writes.
    const [own] = await rows(db3, "SELECT @@gtid_binlog_pos AS b, @@server_id AS id");
    expect(String(own?.b)).not.toMatch(new RegExp(`-${String(own?.id)}-`));
  });

  it("per-connection filters on 10.11: DDL without USE, and a restart keeps them", async () => {
    const db1 = node("db1");
    const db3 = node("db3");
    // DDL is logged as a statement whatever binlog_format. Replicate_Do_DB would judge it by
    // the session's default database (tried: the table made from another database never
    // arrived); Replicate_Wild_Do_Table judges it by the table's. Made from src1 and from
    // mysql, and a table of a database the connection does not take.
    const c = await db1.connect();
    try {
      await c.query("USE src1");
      await c.query("CREATE TABLE src1.ddl_used (i INT PRIMARY KEY) ENGINE=InnoDB");
      await c.query("USE mysql");
      await c.query("CREATE TABLE src1.ddl_other (i INT PRIMARY KEY) ENGINE=InnoDB");
      await c.query("INSERT INTO src1.ddl_other VALUES (1)");
      await c.query("CREATE DATABASE not_taken");
      await c.query("CREATE TABLE not_taken.t (i INT PRIMARY KEY) ENGINE=InnoDB");
    } finally {
      await c.end();
    }
    const [pos] = await rows(db1, "SELECT @@gtid_binlog_pos AS p");
    await rows(db3, `SELECT MASTER_GTID_WAIT('${String(pos?.p)}', 20) AS w`);
    const seen = (
      await rows(
        db3,
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'src1' AND TABLE_NAME LIKE 'ddl%' ORDER BY 1",
      )
    ).map((r) => String(r.t));
    console.log(`DDL on db1 that reached db3 through the 'p1' filter: ${JSON.stringify(seen)}`);
    expect(seen).toEqual(["ddl_other", "ddl_used"]);
    expect(await rows(db3, "SELECT i FROM src1.ddl_other")).toEqual([{ i: 1 }]);
    const dbs = (await rows(db3, "SHOW DATABASES")).map((r) => String(r.Database));
    expect(dbs).not.toContain("not_taken");
    expect((await slaves(db3)).map((r) => Number(r.Last_SQL_Errno))).toEqual([0, 0]);
    await db3.stop();
    await db3.start();
    const after = (await slaves(db3)).map((r) => [r.Connection_name, r.Replicate_Wild_Do_Table]);
    console.log(
      `after a restart of db3: Replicate_Wild_Do_Table per connection ${JSON.stringify(after)}`,
    );
    // Persisted by db3's agent (persist-replication-filters) into the option file its
    // my.cnf reads (!includedir): the restart keeps them.
    expect(after.sort()).toEqual([
      ["p1", "src1.%"],
      ["p2", "src2.%"],
    ]);
  });
});
