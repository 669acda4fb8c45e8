// Shared by the multi-source provisioning end-to-end tests: the lab (db1 domain 1, db2
// domain 2, db3 and db4 replicating both) configured as clusters p1 = {db1, db3, db4} and
// p2 = {db2, db3, db4}, db3 replicating nothing at the start (its lab connections dropped, its
// data kept), one agent per node (db3's files it under p1, with root as its backup account: it
// loads dumps and sets gtid_slave_pos); writers that record their longest wait; the source
// tables and how to compare them.
import { join } from "node:path";
import {
  type MarinaConfig,
  MarinaConfig as MarinaConfigSchema,
  type OperationEvent,
} from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { pino } from "pino";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startLabAgent, startStack } from "../src/stack.js";
import { type SplitClusters, splitConfig, startServices } from "./multi-source-stack.js";
import { command, isOperation, waitPrimary } from "./scenario-helpers.js";

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
  await n.query(`CREATE DATABASE ${db}`);
  await n.query(
    `CREATE TABLE ${db}.w (id BIGINT PRIMARY KEY, v VARBINARY(64), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
  );
  await n.query(
    `CREATE TABLE ${db}.bulk (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, b VARBINARY(1024)) ENGINE=InnoDB`,
  );
  await n.query(
    `INSERT INTO ${db}.bulk (id, b) SELECT seq, RANDOM_BYTES(1000) FROM ${db}.seq_1_to_${bulkRows}`,
  );
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

/** The lab and Marina around it; `backupDir`: db3's agent keeps backups (under the lab dir). */
export async function startProvisionLab(o: { backupDir?: boolean } = {}): Promise<ProvisionLab> {
  const stack = await startStack({
    lab: { shape: "multi-source", nodes: 4, semiSync: false },
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
    const split = splitConfig(stack, {
      p1: { servers: ["db1", "db3", "db4"] },
      p2: { servers: ["db2", "db3", "db4"] },
    });
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
    stack.agents.set("db1", await startLabAgent(stack.lab, node("db1"), log, "p1"));
    stack.agents.set("db2", await startLabAgent(stack.lab, node("db2"), log, "p2"));
    stack.agents.set(
      "db3",
      await startLabAgent(stack.lab, db3, log, "p1", {
        backup: "root",
        ...(o.backupDir ? { backupDir: join(stack.lab.dir, "backups") } : {}),
      }),
    );
    p1 = observe(stack.nc, "p1");
    services = await startServices(stack, config);
    await waitPrimary(stack.nc, "db1", 30_000, "p1");
    await waitPrimary(stack.nc, "db2", 30_000, "p2");
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
