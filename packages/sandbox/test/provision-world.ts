// The world of the multi-source provisioning tests: a multi-source lab (db1 domain 1, db2
// domain 2, the other nodes replicating both over 'p1' and 'p2'), Marina configured as one
// cluster per source that all list the shared replica db3 (promotion never), db3 stripped
// of its lab connections so it replicates nothing, one agent per node involved, and the
// writers and table comparisons the tests judge by. Shared by the provision*.int tests.
import { type MarinaConfig, MarinaConfig as MarinaConfigSchema } from "@marina/contracts";
import { type MariaNode, waitFor } from "@marina/lab";
import { pino } from "pino";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startLabAgent, startStack } from "../src/stack.js";
import { type SplitClusters, splitConfig, startServices } from "./multi-source-stack.js";
import { command, status, waitPrimary } from "./scenario-helpers.js";

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

/** Row count and checksum of a source database's two tables: equal means caught up. */
export async function tableFacts(node: MariaNode, db: string) {
  const out: Record<string, string> = {};
  for (const t of ["w", "bulk"]) {
    const [c] = await rows(node, `SELECT COUNT(*) AS n FROM ${db}.${t}`);
    const [s] = await rows(node, `CHECKSUM TABLE ${db}.${t}`);
    out[t] = `${String(c?.n)} rows, checksum ${String(s?.Checksum)}`;
  }
  return out;
}

/** A source database the writers use: `w` (inserts) and `bulk` (`bulkRows` rows updated). */
export async function makeSourceDb(node: MariaNode, db: string, bulkRows = 20_000) {
  // A session of its own: it writes in the server's gtid_domain_id as it is now.
  const c = await node.connect();
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

export interface ProvisionWorld {
  stack: Stack;
  services: SplitClusters;
  /** Observer of the target's cluster p1 (where the commands go). */
  p1: Observer;
  node(name: string): MariaNode;
  /** provision-replica sent to p1 (db3's agent files it there). */
  provision(payload: object): ReturnType<typeof command>;
  close(): Promise<void>;
}

export interface ProvisionWorldOptions {
  /** Lab nodes (default 4: db4 is a replica that exists already). */
  nodes?: number;
  /** Source clusters and their servers (db3 is added to each); default p1 = db1, db4; p2 = db2, db4. */
  clusters?: Record<string, string[]>;
  /**
   * Before the services start: e.g. turn a lab replica into a third primary. Gets the
   * stack; returns nothing.
   */
  prepare?: (stack: Stack) => Promise<void>;
  /** Agents: server → the cluster its agent files it under (db3 is always p1's). */
  agents?: Record<string, string>;
}

export async function startProvisionWorld(o: ProvisionWorldOptions = {}): Promise<ProvisionWorld> {
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
    // db3 replicates nothing: its lab connections go (its data stays: overwrite is needed).
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
    // The target loads dumps and sets gtid_slave_pos: ALL PRIVILEGES (root over the socket).
    stack.agents.set("db3", await startLabAgent(stack.lab, db3, log, "p1", { backup: "root" }));
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
  const s = services;
  const obs = p1;
  return {
    stack,
    services: s,
    p1: obs,
    node,
    provision: (payload: object) =>
      command(stack.nc, "provision-replica", JSON.stringify(payload), "p1"),
    close,
  };
}
