// The decider rebuilds a diverged replica by a LOGICAL dump through the host agents, end to
// end: a real lab (3 nodes), one agent per node, a monitor, executors and a decider. The
// target keeps running; its user databases (an errant one included), binlogs and
// replication are wiped, the donor's mariadb-dump is loaded with sql_log_bin=0, and the
// target is attached to the primary at the dump's GTID position.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentConfig, startAgent } from "@marina/agent";
import {
  checksumTables,
  gtidOf,
  replicaStatus,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Observed, Observer } from "../src/observer.js";
import { observe } from "../src/observer.js";
import { agentHostOf, backupAccount, type Stack, startStack } from "../src/stack.js";
import { command, replicating, status } from "./scenario-helpers.js";

const TABLES = ["lab_rows", "app.bulk"];

type OpSeen = Extract<Observed, { kind: "operation" }>;

describe("the decider rebuilds a diverged server by a logical dump", () => {
  let stack: Stack;
  let obs: Observer;
  const node = (n: string) => stack.lab.node(n);
  let saveDir = "";

  beforeAll(async () => {
    stack = await startStack({ agents: true, lab: { nodes: 3, semiSync: false } });
    obs = observe(stack.nc, "main");
    const db1 = node("db1");
    await waitFor(
      async () => {
        const st = await status(stack.nc).catch(() => ({}) as Record<string, unknown>);
        const agents = Object.values((st.agents ?? {}) as Record<string, number | null>);
        return st.primary === "db1" && agents.length === 3 && agents.every((a) => a !== null);
      },
      { timeoutMs: 30_000, message: "decider reporting db1 as primary and every agent" },
    );
    await writeRows(db1, 20);
    await db1.query(
      "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
    );
    await db1.query("INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_8000");
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
    // db3's agent again, now with a saveDir: the target's binlogs are kept before the reset.
    saveDir = join(stack.lab.dir, "saved-binlogs");
    mkdirSync(saveDir, { recursive: true });
    await stack.agents.get("db3")?.stop();
    const db3 = node("db3");
    const tmpDir = join(stack.lab.dir, "agent-tmp-db3-logical");
    mkdirSync(tmpDir, { recursive: true });
    const config = AgentConfig.parse({
      host: agentHostOf("db3"),
      nats: { servers: [stack.lab.nats!.url] },
      advertiseAddress: "127.0.0.1",
      listenAddress: "127.0.0.1",
      // The target of a logical rebuild loads the mysql schema: ALL PRIVILEGES (root over
      // the socket). The donors' agents keep the lab's least-privilege marina_backup.
      backup: backupAccount(stack.lab, "root"),
      tmpDir,
      saveDir,
      servers: [
        {
          name: "db3",
          cluster: "main",
          datadir: db3.datadir,
          defaultsFile: db3.defaultsFile,
          socket: db3.socket,
          port: db3.port,
          osUser: "root",
          osGroup: "root",
        },
      ],
      heartbeatMs: 1000,
      progressMs: 250,
      timeouts: { connectMs: 30_000, idleMs: 30_000, serviceMs: 60_000 },
    });
    stack.agents.set(
      "db3",
      await startAgent({
        config,
        log: pino({ level: "silent" }),
        // A logical rebuild never stops the server; the lab's process is driven as in the stack.
        serviceControl: () => ({
          start: () => db3.start(),
          stop: async () => {
            await db3.stop();
          },
          status: async () => ({ running: db3.isRunning(), pid: db3.pid ?? null }),
        }),
      }),
    );
  });

  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("wipes db3 (errant table and database gone), loads db2's dump, attaches db3 to db1", async () => {
    const db1 = node("db1");
    const db3 = node("db3");
    // Errant writes on db3: a table in app and a database of its own, both binlogged.
    const since = performance.now();
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE TABLE app.errant1 (i INT PRIMARY KEY) ENGINE=InnoDB");
    await db3.query("INSERT INTO app.errant1 VALUES (1)");
    await db3.query("CREATE DATABASE errantdb");
    await db3.query("CREATE TABLE errantdb.t (i INT PRIMARY KEY) ENGINE=InnoDB");
    await writeRows(db1, 5);
    await obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.at >= since &&
        o.event.situation === "ServerDiverged" &&
        o.event.server === "db3",
      30_000,
      "ServerDiverged for db3",
    );

    const t0 = performance.now();
    const reply = await command(stack.nc, "rebuild", '{"target":"db3","method":"logical"}');
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    const end = await obs.waitFor(
      (o): o is OpSeen =>
        o.kind === "operation" && o.operation.opId === opId && o.operation.state !== "running",
      120_000,
      `end of rebuild ${opId}`,
    );
    const wallMs = Math.round(performance.now() - t0);
    expect(end.operation.state, end.operation.message).toBe("succeeded");
    expect(end.operation.message).toMatch(/logical dump/);
    console.log(
      `logical rebuild figures: ${JSON.stringify({ wallMs, timings: end.operation.timings, message: end.operation.message })}`,
    );
    const phases = new Set(
      obs
        .operations()
        .filter((o) => o.opId === opId)
        .map((e) => e.phase),
    );
    expect([...phases]).toEqual(["start", "receive", "send", "stream", "attach"]);

    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicating" });
    const [link] = await replicaStatus(db3);
    expect(link?.masterPort).toBe(db1.port);
    await writeRows(db1, 3);
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
    expect((await gtidOf(db3)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    expect(await checksumTables(db3, TABLES)).toEqual(await checksumTables(db1, TABLES));
    const errant = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE (table_schema='app' AND table_name='errant1') OR table_schema='errantdb'",
    );
    expect(Number(errant[0]?.n)).toBe(0);
    const dbs = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name='errantdb'",
    );
    expect(Number(dbs[0]?.n)).toBe(0);
    // The accounts came along with the dump (db3 can serve the app and replicate).
    const users = await db3.query<{ u: string }[]>(
      "SELECT DISTINCT user AS u FROM mysql.user WHERE user IN ('app','marina','repl') ORDER BY u",
    );
    expect(users.map((r) => r.u)).toEqual(["app", "marina", "repl"]);
    expect(await db3.query<{ ro: number }[]>("SELECT @@global.read_only AS ro")).toEqual([
      { ro: 1 },
    ]);
    // The load wrote no local GTID: db3's binlog holds only what it replicated since.
    const g = await gtidOf(db3);
    expect(g.binlogPos.split(",").every((x) => !x.includes("-3-"))).toBe(true);
    // db3's old binlogs, with the errant events, were saved first; the operation says where.
    const saved = /its old binlogs were saved in (\S+)$/.exec(end.operation.message)?.[1];
    expect(saved?.startsWith(`${saveDir}/db3-`)).toBe(true);
    const files = readdirSync(saved!).filter((f) => /^binlog\.\d+$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const text = files.map((f) => readFileSync(join(saved!, f), "latin1")).join("");
    expect(text).toContain("CREATE DATABASE errantdb");
    // The donor replicates on, and the decider forgot the divergence.
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    expect((await status(stack.nc)).diverged).toEqual({});
  });

  it("a PHYSICAL rebuild saves the diverged target's binlogs too, before emptying its datadir", async () => {
    const db1 = node("db1");
    const db3 = node("db3");
    const since = performance.now();
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE TABLE app.errant2 (i INT PRIMARY KEY) ENGINE=InnoDB");
    await writeRows(db1, 3);
    await obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.at >= since &&
        o.event.situation === "ServerDiverged" &&
        o.event.server === "db3",
      30_000,
      "ServerDiverged for db3 again",
    );
    const reply = await command(stack.nc, "rebuild", '{"target":"db3"}');
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    const end = await obs.waitFor(
      (o): o is OpSeen =>
        o.kind === "operation" && o.operation.opId === opId && o.operation.state !== "running",
      120_000,
      `end of rebuild ${opId}`,
    );
    expect(end.operation.state, end.operation.message).toBe("succeeded");
    const saved = /its old binlogs were saved in (\S+)$/.exec(end.operation.message)?.[1];
    expect(saved?.startsWith(`${saveDir}/db3-`), end.operation.message).toBe(true);
    const files = readdirSync(saved!).filter((f) => /^binlog\.\d+$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const text = files.map((f) => readFileSync(join(saved!, f), "latin1")).join("");
    expect(text).toContain("CREATE TABLE app.errant2");
    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicating" });
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
    expect((await gtidOf(db3)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    const errant = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='errant2'",
    );
    expect(Number(errant[0]?.n)).toBe(0);
  });
});
