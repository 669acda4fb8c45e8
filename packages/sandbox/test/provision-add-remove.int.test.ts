// provision-replica mode add / remove end to end, and a provisioned replica through a
// failover of one of its sources. Lab multi-source with 5 nodes: db1 (domain 1) and db2
// (domain 2) are primaries, db5 is turned into a third primary
// (domain 3, its lab connections dropped), db4 replicates db1 only. Clusters p1 = {db1,
// db4, db3}, p2 = {db2, db3}, p3 = {db5, db3}; db3 is provisioned
// from p1 and p2, then p3 is added while all three primaries take writes, db3 restarted,
// p3 removed, and p1 failed over to db4.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  changeMaster,
  findMissingIds,
  startWriter,
  type Writer,
  waitFor,
  waitForReplicating,
} from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSourceTables,
  type ProvisionLab,
  rows,
  StallWriter,
  sqlErrorWatch,
  startProvisionLab,
  tableFacts,
  waitTablesEqual,
} from "./provision-helpers.js";
import {
  command,
  type EventSeen,
  isEvent,
  isOperation,
  newPrimary,
  type OperationSeen,
  slaves,
  status,
  topologyWriter,
} from "./scenario-helpers.js";

const domainsOf = (pos: unknown) =>
  new Set(
    String(pos)
      .split(",")
      .filter((g) => g !== "")
      .map((g) => Number(g.split("-")[0])),
  );

describe("provision-replica add / remove on a running multi-source replica", () => {
  let world: ProvisionLab;
  const node = (n: string) => world.node(n);
  const stallers: StallWriter[] = [];
  let appWriter: Writer | undefined;

  beforeAll(async () => {
    world = await startProvisionLab({
      nodes: 5,
      clusters: { p1: ["db1", "db4"], p2: ["db2"], p3: ["db5"] },
      agents: { db1: "p1", db2: "p2", db5: "p3" },
      prepare: async (stack) => {
        // db5 becomes the primary of a third stream, domain 3.
        const db5 = stack.lab.node("db5");
        await db5.query("STOP ALL SLAVES");
        for (const c of ["p1", "p2"]) await db5.query(`RESET SLAVE '${c}' ALL`);
        // A fresh stream: no other domain's history in its binlog (the lab's setup wrote
        // in domain 0 on every node — a domain several servers write in, which a
        // connection's position cannot carry across a repoint under gtid_strict_mode).
        await db5.query("RESET MASTER");
        await db5.query("SET GLOBAL gtid_domain_id = 3");
        await db5.query("SET GLOBAL read_only = 0");
        // db4 is p1's replica only: a source cluster's servers carry its own stream, not
        // the others' (a new primary that carried another source's domain would send it to
        // db3's connection too — docs/operations.md).
        const db4 = stack.lab.node("db4");
        await db4.query("STOP SLAVE 'p2'");
        await db4.query("RESET SLAVE 'p2' ALL");
        await db4.query("RESET MASTER");
        // Marina knows a primary by its replicas: until db3 is provisioned (which wipes
        // these), it replicates db2 and db5 for p2 and p3 to see them as primaries.
        const db3 = stack.lab.node("db3");
        await changeMaster(db3, stack.lab.node("db2"), { connectionName: "p2" });
        await changeMaster(db3, db5, { connectionName: "p3" });
        await waitForReplicating(db3, { count: 2 });
      },
    });
    await createSourceTables(node("db1"), "src1", 5000);
    await createSourceTables(node("db2"), "src2", 5000);
    await createSourceTables(node("db5"), "src3", 5000);
  });

  afterAll(async () => {
    for (const w of stallers) await w.stop().catch(() => {});
    await appWriter?.stop().catch(() => {});
    await world?.close();
  });

  const provision = (payload: object) => world.send("provision-replica", payload);
  const ended = async (reply: Awaited<ReturnType<typeof provision>>, ms: number) => {
    expect(reply.ok).toBe(true);
    const opId = reply.ok ? reply.opId : undefined;
    const end = await world.p1.waitFor(
      isOperation((o) => o.opId === opId && o.state !== "running"),
      ms,
      "provision-replica result",
    );
    const op = (end as OperationSeen).operation;
    console.log(
      `${opId}: ${op.state} [${op.phase}] ${op.message}\n  timings: ${JSON.stringify(op.timings)}`,
    );
    return op;
  };

  /**
   * Dropping a replica's databases unlogged needs DROP and BINLOG ADMIN (docs/security.md);
   * granted to Marina's account on db3 without binlogging (a GTID of db3's own would make
   * it errant).
   */
  const grantDrop = async () => {
    const root = await node("db3").connect();
    try {
      await root.query("SET SESSION sql_log_bin = 0");
      await root.query(
        `GRANT DROP, BINLOG ADMIN ON *.* TO '${world.stack.lab.credentials.marina.user}'@'%'`,
      );
    } finally {
      await root.end();
    }
  };
  /** db3 replicates over 'p1' and 'p2' only, both threads running. */
  const expectP1P2Running = async () => {
    const links = (await slaves(node("db3")))
      .map((r) => [r.Connection_name, r.Slave_IO_Running, r.Slave_SQL_Running])
      .sort();
    expect(links).toEqual([
      ["p1", "Yes", "Yes"],
      ["p2", "Yes", "Yes"],
    ]);
  };
  const addP3 = (more: object) =>
    provision({
      target: "db3",
      mode: "add",
      sources: [{ cluster: "p3", databases: ["src3"] }],
      ...more,
    });
  const add = (cluster: string, databases: string[]) =>
    provision({ target: "db3", mode: "add", sources: [{ cluster, databases }] }).then((r) =>
      ended(r, 120_000),
    );
  const remove = (cluster: string) =>
    provision({ target: "db3", mode: "remove", sources: [{ cluster }], dropDatabases: true }).then(
      (r) => ended(r, 60_000),
    );

  it("provisions db3 from p1 (src1 and app) and p2 (src2)", async () => {
    const op = await ended(
      await provision({
        target: "db3",
        sources: [
          { cluster: "p1", databases: ["src1", "app"] },
          { cluster: "p2", databases: ["src2"] },
        ],
        overwrite: true,
      }),
      120_000,
    );
    expect(op.state).toBe("succeeded");
  });

  it("refuses to add a source whose GTID domain an attached source writes, or one attached already", async () => {
    const db5 = node("db5");
    await db5.query("SET GLOBAL gtid_domain_id = 1");
    try {
      const dry = await addP3({ dryRun: true });
      const report = dry.ok ? dry.dryRun : undefined;
      expect(report?.outcome).toBe("refused");
      expect(report?.error?.code).toBe("PROVISION_CHECK_FAILED");
      expect(report?.error?.message).toMatch(
        /db1 \(p1\) and db5 \(p3\) both write in gtid_domain_id 1: .*give one cluster another gtid_domain_id/,
      );
      const real = await addP3({});
      expect(real.ok).toBe(false);
      if (!real.ok) expect(real.error.code).toBe("PROVISION_CHECK_FAILED");
    } finally {
      await db5.query("SET GLOBAL gtid_domain_id = 3");
    }
    const again = await provision({
      target: "db3",
      mode: "add",
      sources: [{ cluster: "p1", databases: ["src1"] }],
    });
    expect(again.ok).toBe(false);
    if (!again.ok) {
      expect(again.error.message).toMatch(/connection 'p1' already: remove that source first/);
      expect(again.error.message).toMatch(/db3 holds src1 already/);
    }
    expect(world.p1.operations().filter((o) => o.phase.startsWith("copy:p3"))).toEqual([]);
  });

  it("an add whose dump fails leaves 'p1' and 'p2' replicating and drops what it loaded", async () => {
    const db3 = node("db3");
    await grantDrop();
    // A view over a table that is gone: the dump of src3 fails after its tables. A session of
    // its own on db5 (it writes in domain 3), idle while the add runs: a socket timeout above
    // the add's (a CI run under load took 10.2 s to fail the dump, and the lab's default 10 s
    // closed the session, so the view stayed and every later add failed on it).
    const c = await node("db5").connect({ socketTimeoutMs: 300_000 });
    try {
      await c.query("CREATE TABLE src3.gone (i INT PRIMARY KEY) ENGINE=InnoDB");
      await c.query("CREATE VIEW src3.v AS SELECT i FROM src3.gone");
      await c.query("DROP TABLE src3.gone");
      const op = await add("p3", ["src3"]);
      expect(op.state).toBe("failed");
      expect(op.phase).toBe("copy:p3");
      expect(op.message).toMatch(/src3 \(partly loaded\) dropped; clear maintenance on db3/);
    } finally {
      await c.query("DROP VIEW IF EXISTS src3.v");
      await c.end();
    }
    await expectP1P2Running();
    const dbs = (await rows(db3, "SHOW DATABASES")).map((r) => String(r.Database));
    expect(dbs).not.toContain("src3");
    for (const cluster of ["p1", "p2", "p3"]) {
      expect((await status(world.stack.nc, cluster)).maintenance).toContain("db3");
      const r = await command(
        world.stack.nc,
        "clear-maintenance",
        JSON.stringify({ server: "db3" }),
        cluster,
      );
      expect(r.ok).toBe(true);
    }
  });

  it("adds p3 while db1, db2 and db5 take writes: rows equal, no SQL error, three domains", async () => {
    const [db1, db2, db3, db5] = ["db1", "db2", "db3", "db5"].map(node) as [
      ReturnType<typeof node>,
      ReturnType<typeof node>,
      ReturnType<typeof node>,
      ReturnType<typeof node>,
    ];
    const ws = [
      new StallWriter(db1, "src1", 3_000_000),
      new StallWriter(db2, "src2", 3_000_000),
      new StallWriter(db5, "src3", 3_000_000),
    ];
    stallers.push(...ws);
    for (const w of ws) w.start();
    await waitFor(async () => ws.every((w) => w.writes > 20), {
      timeoutMs: 10_000,
      message: "writers running",
    });
    const errors = sqlErrorWatch(db3);

    const dry = await addP3({ dryRun: true });
    const report = dry.ok ? dry.dryRun : undefined;
    expect(report?.outcome).toBe("accepted");
    expect(report?.operation?.phases.map((p) => p.name)).toEqual(["copy:p3", "attach:p3"]);
    const attach = report?.operation?.phases[1];
    console.log(`dry-run attach:p3 first step: ${JSON.stringify(attach?.steps[0]?.step)}`);
    const replace = attach?.steps[0]?.step as { kind: string; domains: number[] } | undefined;
    expect(replace?.kind).toBe("replace-gtid-domains");
    // p3's own domains: 3 (and any of its past), never the attached sources' 1 and 2.
    expect(replace?.domains).toContain(3);
    expect(replace?.domains).not.toContain(1);
    expect(replace?.domains).not.toContain(2);

    const before = ws.map((w) => w.writes);
    // The other connections' positions move throughout: sampled while the add runs.
    const sampling = { stop: false, samples: 0 };
    const sampler = (async () => {
      while (!sampling.stop) {
        await errors.check();
        sampling.samples += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const op = await add("p3", ["src3"]);
    sampling.stop = true;
    await sampler;
    expect(op.state).toBe("succeeded");
    const paused = /were paused (\d+) ms/.exec(op.message);
    expect(paused).not.toBeNull();
    console.log(
      `the SQL threads of 'p1' and 'p2' were stopped ${paused?.[1]} ms while p3's domain went into gtid_slave_pos`,
    );
    expect(op.message).toMatch(/SQL threads of 'p1', 'p2' were paused/);
    ws.forEach((w, i) => {
      expect(w.writes).toBeGreaterThan(before[i]! + 10);
    });

    await new Promise((r) => setTimeout(r, 1500));
    for (const w of ws) await w.stop();
    console.log(
      `write stalls during the add: db1 ${ws[0]!.maxMs.toFixed(0)} ms, db2 ${ws[1]!.maxMs.toFixed(0)} ms, db5 ${ws[2]!.maxMs.toFixed(0)} ms (${errors.seen.size} SQL errors seen in ${sampling.samples} samples)`,
    );
    for (const w of ws) expect(w.errors).toEqual([]);
    await waitTablesEqual(
      db3,
      [
        [db1, "src1"],
        [db2, "src2"],
        [db5, "src3"],
      ],
      errors,
    );
    await errors.check();
    expect([...errors.seen]).toEqual([]);
    const links = (await slaves(db3))
      .map((r) => [
        r.Connection_name,
        r.Slave_IO_Running,
        r.Slave_SQL_Running,
        r.Replicate_Wild_Do_Table,
      ])
      .sort();
    expect(links).toEqual([
      ["p1", "Yes", "Yes", "src1.%,app.%"],
      ["p2", "Yes", "Yes", "src2.%"],
      ["p3", "Yes", "Yes", "src3.%"],
    ]);
    const [pos] = await rows(db3, "SELECT @@gtid_slave_pos AS p");
    console.log(`db3's gtid_slave_pos with three sources: ${String(pos?.p)}`);
    // 1, 2, 3 — and db5's own past in domain 0 (written before it took domain 3).
    expect([...domainsOf(pos?.p)]).toEqual(expect.arrayContaining([1, 2, 3]));
  });

  it("a restart of db3 keeps the three connections' filters (written to its conf.d)", async () => {
    const db3 = node("db3");
    const file = await readFile(join(db3.confDir, "marina-replication-filters.cnf"), "utf8");
    console.log(`db3's ${join(db3.confDir, "marina-replication-filters.cnf")}:\n${file}`);
    expect(file).toMatch(/^p3\.replicate_wild_do_table = src3\.%$/m);
    await db3.stop();
    await db3.start();
    const after = (await slaves(db3)).map((r) => [r.Connection_name, r.Replicate_Wild_Do_Table]);
    expect(after.sort()).toEqual([
      ["p1", "src1.%,app.%"],
      ["p2", "src2.%"],
      ["p3", "src3.%"],
    ]);
  });

  it("removes p3 with its databases; p1 and p2 untouched", async () => {
    const db3 = node("db3");
    await grantDrop();
    const dry = await provision({
      target: "db3",
      mode: "remove",
      sources: [{ cluster: "p3" }],
      dropDatabases: true,
      dryRun: true,
    });
    const report = dry.ok ? dry.dryRun : undefined;
    expect(report?.outcome).toBe("accepted");
    expect(report?.operation?.phases[0]?.steps.map((s) => s.step.kind)).toEqual([
      "reset-replication",
      "replace-gtid-domains",
      "drop-databases",
    ]);
    const op = await remove("p3");
    expect(op.state).toBe("succeeded");
    await expectP1P2Running();
    const dbs = (await rows(db3, "SHOW DATABASES")).map((r) => String(r.Database));
    expect(dbs).not.toContain("src3");
    expect(dbs).toContain("src1");
    const [pos] = await rows(db3, "SELECT @@gtid_slave_pos AS p");
    console.log(`db3's gtid_slave_pos after p3's removal: ${String(pos?.p)}`);
    expect(domainsOf(pos?.p).has(3)).toBe(false);
    expect([...domainsOf(pos?.p)]).toEqual(expect.arrayContaining([1, 2]));
    const file = await readFile(join(db3.confDir, "marina-replication-filters.cnf"), "utf8");
    expect(file).not.toMatch(/^p3\./m);
    expect(file).toMatch(
      /^p1\.replicate_wild_do_table = src1\.%\np1\.replicate_wild_do_table = app\.%$/m,
    );
    // Removing it again: nothing to remove.
    const again = await provision({
      target: "db3",
      mode: "remove",
      sources: [{ cluster: "p3" }],
    });
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.message).toMatch(/no connection 'p3'/);
  });

  it("a broken 'p2' is a situation naming it; re-provisioning p2 alone repairs it while 'p1' replicates", async () => {
    const [db1, db2, db3] = ["db1", "db2", "db3"].map(node) as [
      ReturnType<typeof node>,
      ReturnType<typeof node>,
      ReturnType<typeof node>,
    ];
    // The SQL-thread pause of the removal before may have been sampled (ReplicaBroken for a
    // moment): start from a db3 p1 sees healthy, so the break below is a new situation.
    await waitFor(
      async () => {
        const st = await status(world.stack.nc, "p1");
        const s = (st.servers as { name: string; situations: string[] }[]).find(
          (x) => x.name === "db3",
        );
        return s !== undefined && !s.situations.includes("ReplicaBroken");
      },
      { timeoutMs: 20_000, message: "p1 sees db3 healthy" },
    );
    // A row db3 has and db2 does not (unlogged, as a stray local write would be): the same
    // id inserted on db2 stops 'p2' with 1062.
    const root = await db3.connect();
    try {
      await root.query("SET SESSION sql_log_bin = 0");
      await root.query("INSERT INTO src2.w (id, v) VALUES (9000001, 'local')");
    } finally {
      await root.end();
    }
    const w1 = new StallWriter(db1, "src1", 5_000_000);
    stallers.push(w1);
    w1.start();
    await db2.query("INSERT INTO src2.w (id, v) VALUES (9000001, 'source')");
    // p1 lists db3 too and diagnoses all of its connections: its event names 'p2'.
    const seen = await world.p1.waitFor(
      isEvent("ReplicaBroken", "db3", (e) => /'p2'.*1062/.test(e.reason)),
      20_000,
      "ReplicaBroken naming db3's 'p2'",
    );
    console.log(`the situation of db3: ${(seen as EventSeen).event.reason.slice(0, 400)}`);
    await waitFor(
      async () => {
        const st = await status(world.stack.nc, "p2");
        const s = (st.servers as { name: string; situations: string[] }[]).find(
          (x) => x.name === "db3",
        );
        return s?.situations.includes("ReplicaBroken");
      },
      { timeoutMs: 20_000, message: "p2's status shows db3 ReplicaBroken" },
    );
    // 'p1' is not touched by p2's trouble.
    const p1Running = async () =>
      (await slaves(db3)).find((r) => r.Connection_name === "p1")?.Slave_SQL_Running === "Yes";
    expect(await p1Running()).toBe(true);

    const sqlStops = { p1: 0, samples: 0, stop: false };
    const sampler = (async () => {
      while (!sqlStops.stop) {
        if (!(await p1Running())) sqlStops.p1 += 1;
        sqlStops.samples += 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const removed = await remove("p2");
    expect(removed.state).toBe("succeeded");
    const added = await add("p2", ["src2"]);
    sqlStops.stop = true;
    await sampler;
    expect(added.state).toBe("succeeded");
    console.log(
      `'p1' SQL thread seen stopped in ${sqlStops.p1} of ${sqlStops.samples} samples (every 50 ms) during the repair of 'p2'`,
    );
    await w1.stop();
    expect(w1.errors).toEqual([]);
    const errors = sqlErrorWatch(db3);
    await waitTablesEqual(
      db3,
      [
        [db1, "src1"],
        [db2, "src2"],
      ],
      errors,
    );
    expect([...errors.seen]).toEqual([]);
    const [row] = await rows(db3, "SELECT v FROM src2.w WHERE id = 9000001");
    expect(String(row?.v)).toBe("source");
  });

  it("p1 fails over to db4: db3's 'p1' follows db4 at domain 1's position, 'p2' untouched", async () => {
    const { stack } = world;
    const [db2, db3, db4] = ["db2", "db3", "db4"].map(node) as [
      ReturnType<typeof node>,
      ReturnType<typeof node>,
      ReturnType<typeof node>,
    ];
    const errors = sqlErrorWatch(db3);
    // The lab's app writer (a non-SUPER account) on p1's writer, following the topology.
    appWriter = await startWriter(topologyWriter(stack.lab, world.p1, "db1"), {
      intervalMs: 10,
      table: "w_p1",
    });
    const w2 = new StallWriter(db2, "src2", 4_000_000);
    stallers.push(w2);
    w2.start();
    await appWriter.waitForAcks(30);
    const ackedAtKill = appWriter.acked.length;
    await node("db1").kill9();
    const promoted = await world.p1.waitFor(newPrimary("db1"), 30_000, "p1 failover");
    expect(promoted.topology.primary).toBe("db4");
    const done = await world.p1.waitFor(
      isOperation((o) => o.kind === "failover" && o.state !== "running"),
      30_000,
      "p1 failover result",
    );
    console.log(
      `p1 failover: ${done.operation.state} [${done.operation.phase}] ${done.operation.message}`,
    );
    expect(done.operation.state).toBe("succeeded");
    await appWriter.waitForAcks(ackedAtKill + 50, 30_000);
    await appWriter.stop();
    await w2.stop();
    expect(w2.errors).toEqual([]);

    // db3's 'p1' now reads db4; 'p2' still db2; both running.
    await waitFor(async () => (await slaves(db3)).every((r) => r.Slave_SQL_Running === "Yes"), {
      timeoutMs: 10_000,
      message: "db3's SQL threads running after the failover",
    }).catch(async (err: Error) => {
      const seen = (await slaves(db3)).map((r) => ({
        c: r.Connection_name,
        port: r.Master_Port,
        io: r.Slave_IO_Running,
        sql: r.Slave_SQL_Running,
        err: r.Last_SQL_Error,
        ioErr: r.Last_IO_Error,
        pos: r.Gtid_IO_Pos,
      }));
      const [g] = await rows(db3, "SELECT @@gtid_slave_pos AS p");
      console.log(`db3 after the failover: ${JSON.stringify(seen)} gtid_slave_pos ${String(g?.p)}`);
      throw err;
    });
    const links = (await slaves(db3))
      .map((r) => [r.Connection_name, r.Master_Port, r.Slave_IO_Running, r.Slave_SQL_Running])
      .sort();
    expect(links).toEqual([
      ["p1", db4.port, "Yes", "Yes"],
      ["p2", db2.port, "Yes", "Yes"],
    ]);
    // After catch-up db3 has every write db4 has (src1 and app.w_p1), and db2's src2.
    const acked = [...appWriter.acked];
    const lostOnDb4 = await findMissingIds(db4, acked, "w_p1");
    console.log(
      `app writer: ${acked.length} acknowledged, ${lostOnDb4.length} of them missing on db4 after the failover (async replication), ${appWriter.failed.length} failed/in doubt`,
    );
    await waitFor(
      async () => {
        await errors.check();
        return (
          (await findMissingIds(db3, acked, "w_p1")).length === lostOnDb4.length &&
          JSON.stringify(await tableFacts(db3, "src1")) ===
            JSON.stringify(await tableFacts(db4, "src1")) &&
          JSON.stringify(await tableFacts(db3, "src2")) ===
            JSON.stringify(await tableFacts(db2, "src2"))
        );
      },
      { timeoutMs: 60_000, message: "db3 caught up with db4 and db2" },
    ).catch(async (err: Error) => {
      const [a] = await rows(db3, "SELECT @@gtid_slave_pos AS s, @@gtid_binlog_pos AS b");
      const [b] = await rows(db4, "SELECT @@gtid_binlog_pos AS b, @@gtid_slave_pos AS s");
      const t3 = await rows(
        db3,
        "SELECT TABLE_SCHEMA AS d, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'",
      );
      const ev = world.p1
        .operations()
        .filter((o) => o.kind === "failover")
        .map((o) => `[${o.phase}] ${o.message}`);
      console.log(
        `db3 slave ${String(a?.s)} binlog ${String(a?.b)}; db4 binlog ${String(b?.b)} slave ${String(b?.s)}; db3 app tables ${JSON.stringify(t3)}; links ${JSON.stringify((await slaves(db3)).map((r) => [r.Connection_name, r.Gtid_IO_Pos, r.Last_SQL_Error]))}\n${ev.join("\n")}`,
      );
      throw err;
    });
    const [w3] = await rows(db3, "SELECT COUNT(*) AS n, CAST(SUM(id) AS CHAR) AS s FROM app.w_p1");
    const [w4] = await rows(db4, "SELECT COUNT(*) AS n, CAST(SUM(id) AS CHAR) AS s FROM app.w_p1");
    expect(w3).toEqual(w4);
    expect([...errors.seen]).toEqual([]);
    const [pos] = await rows(db3, "SELECT @@gtid_slave_pos AS p");
    console.log(`db3's gtid_slave_pos after p1's failover: ${String(pos?.p)}`);
    expect([...domainsOf(pos?.p)]).toEqual(expect.arrayContaining([1, 2]));
    expect((await status(stack.nc, "p2")).primary).toBe("db2");
  });

  it("restart-source stops and starts 'p2' alone", async () => {
    const dry = await provision({
      target: "db3",
      mode: "restart",
      sources: [{ cluster: "p2" }],
      dryRun: true,
    });
    expect(dry.ok && dry.dryRun?.operation?.phases.map((p) => p.name)).toEqual(["restart:p2"]);
    const op = await ended(
      await provision({ target: "db3", mode: "restart", sources: [{ cluster: "p2" }] }),
      60_000,
    );
    expect(op.state).toBe("succeeded");
    await expectP1P2Running();
    const gone = await provision({
      target: "db3",
      mode: "restart",
      sources: [{ cluster: "p3" }],
    });
    expect(gone.ok).toBe(false);
    if (!gone.ok) expect(gone.error.message).toMatch(/no connection 'p3'/);
  });
});
