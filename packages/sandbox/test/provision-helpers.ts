// Shared by the multi-source provisioning end-to-end tests: the lab (db1 domain 1, db2
// domain 2, db3 and db4 replicating both) configured as clusters p1 = {db1, db3, db4} and
// p2 = {db2, db3, db4} by default (other nodes and clusters by option, as the add/remove
// test's third primary), db3 replicating nothing at the start (its lab connections dropped, its
// data kept), one agent per node (db3's files it under p1, with root as its backup account: it
// loads dumps and sets gtid_slave_pos); writers that record their longest wait; the source
// tables and how to compare them.
import { join } from "node:path";
import {
  type MarinaConfig,
  MarinaConfig as MarinaConfigSchema,
  type OperationEvent,
} from "@marina/contracts";
import { type MariaNode, waitFor } from "@marina/lab";
import { pino } from "pino";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startLabAgent, startStack } from "../src/stack.js";
import { type SplitClusters, splitConfig, startServices } from "./multi-source-stack.js";
import { command, isOperation, status, waitPrimary } from "./scenario-helpers.js";

export type Row = Record<string, unknown>;

/** Inserts and updates on one primary as fast as it answers; records the longest wait. */
export class StallWriter {
  maxMs = 0;
  writes = 0;
  errors: string[] = [];
  private stopping = false;
  private done: Promise<void> | undefined;
  constructor(
    private readonly node: MariaNode,
    private readonly db: string,
    /** Ids written are firstId + 1, + 2, …: distinct per writer of a table. */
    private readonly firstId: number,
  ) {}
  start() {
    this.done = (async () => {
      const conn = await this.node.connect();
      try {
        let id = this.firstId;
        while (!this.stopping) {
          id += 1;
          const t0 = performance.now();
          try {
            await conn.query(`INSERT INTO ${this.db}.w (id, v) VALUES (?, RANDOM_BYTES(64))`, [id]);
            await conn.query(`UPDATE ${this.db}.bulk SET n = n + 1 WHERE id = ?`, [
              1 + (id % 2000),
            ]);
            this.writes += 1;
          } catch (err) {
            this.errors.push((err as Error).message);
          }
          this.maxMs = Math.max(this.maxMs, performance.now() - t0);
          await new Promise((r) => setTimeout(r, 2));
        }
      } finally {
        await conn.end().catch(() => {});
      }
    })();
  }
  async stop() {
    this.stopping = true;
    await this.done;
  }
}

export async function rows(node: MariaNode, sql: string): Promise<Row[]> {
  return node.query<Row[]>(sql);
}

/** Row count and checksum of each source table. */
export async function tableFacts(node: MariaNode, db: string) {
  const out: Record<string, string> = {};
  for (const t of ["w", "bulk"]) {
    const [c] = await rows(node, `SELECT COUNT(*) AS n FROM ${db}.${t}`);
    const [s] = await rows(node, `CHECKSUM TABLE ${db}.${t}`);
    out[t] = `${String(c?.n)} rows, checksum ${String(s?.Checksum)}`;
  }
  return out;
}

/** The source database `db` on a primary: a table the writers insert into, one they update. */
export async function createSourceTables(n: MariaNode, db: string, bulkRows = 20000) {
  // A session of its own: it writes in the server's gtid_domain_id as it is now (the node's
  // admin session keeps the one it started with).
  const c = await n.connect();
  try {
    await c.query(`CREATE DATABASE ${db}`);
    await c.query(
      `CREATE TABLE ${db}.w (id BIGINT PRIMARY KEY, v VARBINARY(64), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
    );
    await c.query(
      `CREATE TABLE ${db}.bulk (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, b VARBINARY(1024)) ENGINE=InnoDB`,
    );
    await c.query(
      `INSERT INTO ${db}.bulk (id, b) SELECT seq, RANDOM_BYTES(1000) FROM ${db}.seq_1_to_${bulkRows}`,
    );
  } finally {
    await c.end();
  }
}

/** Every SQL error number seen on a replica's connections, sampled by `check()`. */
export function sqlErrorWatch(replica: MariaNode) {
  const seen = new Set<number>();
  return {
    seen,
    async check() {
      for (const r of await rows(replica, "SHOW ALL SLAVES STATUS")) {
        const errno = Number(r.Last_SQL_Errno ?? 0);
        if (errno !== 0) seen.add(errno);
      }
    },
  };
}

/** Waits until each source database on `replica` equals its source (count and checksum). */
export async function waitTablesEqual(
  replica: MariaNode,
  sources: readonly (readonly [MariaNode, string])[],
  errors: { check(): Promise<void> },
  timeoutMs = 60_000,
) {
  for (const [src, db] of sources) {
    const want = await tableFacts(src, db);
    await waitFor(
      async () => {
        await errors.check();
        return JSON.stringify(await tableFacts(replica, db)) === JSON.stringify(want);
      },
      { timeoutMs, message: `${db} on ${replica.name} equal to its source` },
    );
  }
}

export interface ProvisionLab {
  stack: Stack;
  services: SplitClusters;
  /** Operations and events of cluster p1 (where db3's commands go). */
  p1: Observer;
  node(name: string): MariaNode;
  /** A command to cluster p1. */
  send(verb: Parameters<typeof command>[1], payload: object): ReturnType<typeof command>;
  /** The final event of operation `opId` in p1. */
  outcome(opId: string | undefined, timeoutMs: number, what: string): Promise<OperationEvent>;
  close(): Promise<void>;
}

export interface ProvisionLabOptions {
  /** db3's agent keeps backups (under the lab dir). */
  backupDir?: boolean;
  /** Lab nodes (default 4: db4 is a replica that exists already). */
  nodes?: number;
  /** Source clusters and their servers, db3 added to each (default p1 = db1, db4; p2 = db2, db4). */
  clusters?: Record<string, string[]>;
  /** Before the services start (after db3's lab connections went): e.g. a third primary. */
  prepare?: (stack: Stack) => Promise<void>;
  /** Agents besides db3's: server → the cluster its agent files it under. */
  agents?: Record<string, string>;
}

/** The lab and Marina around it. */
export async function startProvisionLab(o: ProvisionLabOptions = {}): Promise<ProvisionLab> {
  const stack = await startStack({
    lab: { shape: "multi-source", nodes: o.nodes ?? 4, semiSync: false },
    monitor: false,
    executors: 0,
    deciders: 0,
  });
  const node = (n: string) => stack.lab.node(n);
  let services: SplitClusters | undefined;
  let p1: Observer | undefined;
  const close = async () => {
    p1?.close();
    await services?.close();
    await stack.close();
  };
  try {
    const db3 = node("db3");
    await db3.query("STOP ALL SLAVES");
    for (const c of ["p1", "p2"]) await db3.query(`RESET SLAVE '${c}' ALL`);
    await o.prepare?.(stack);
    const clusters = o.clusters ?? { p1: ["db1", "db4"], p2: ["db2", "db4"] };
    const split = splitConfig(
      stack,
      Object.fromEntries(
        Object.entries(clusters).map(([c, servers]) => [c, { servers: [...servers, "db3"] }]),
      ),
    );
    const config: MarinaConfig = MarinaConfigSchema.parse({
      ...split,
      clusters: split.clusters.map((c) => ({
        ...c,
        // db3, the multi-source replica, may never be promoted (a provisioning check).
        servers: c.servers.map((s) => ({
          ...s,
          agentHost: agentHostOf(s.name),
          ...(s.name === "db3" ? { promotion: "never" } : {}),
        })),
      })),
    });
    const log = pino({ level: process.env.MARINA_LOG_LEVEL ?? "silent" });
    for (const [server, cluster] of Object.entries(o.agents ?? { db1: "p1", db2: "p2" })) {
      stack.agents.set(server, await startLabAgent(stack.lab, node(server), log, cluster));
    }
    stack.agents.set(
      "db3",
      await startLabAgent(stack.lab, db3, log, "p1", {
        backup: "root",
        ...(o.backupDir ? { backupDir: join(stack.lab.dir, "backups") } : {}),
      }),
    );
    p1 = observe(stack.nc, "p1");
    services = await startServices(stack, config);
    for (const [c, servers] of Object.entries(clusters)) {
      await waitPrimary(stack.nc, servers[0]!, 30_000, c).catch(async (err: Error) => {
        const seen = await status(stack.nc, c).catch((e: Error) => e.message);
        throw new Error(`${err.message}; status of ${c}: ${JSON.stringify(seen).slice(0, 3000)}`);
      });
    }
  } catch (err) {
    await close();
    throw err;
  }
  const observer = p1;
  return {
    stack,
    services,
    p1: observer,
    node,
    send: (verb, payload) => command(stack.nc, verb, JSON.stringify(payload), "p1"),
    async outcome(opId, timeoutMs, what) {
      const end = await observer.waitFor(
        isOperation((op) => op.opId === opId && op.state !== "running"),
        timeoutMs,
        what,
      );
      if (end.kind !== "operation") throw new Error("not an operation");
      return end.operation;
    },
    close,
  };
}
