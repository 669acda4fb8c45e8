import { dirname } from "node:path";
import type { Duplex } from "node:stream";
import { ConnectionName, MarinaError } from "@marina/contracts";
import {
  type FenceSql,
  type GrantsReading,
  killClientConnections,
  type Row,
  readGrants,
  readOnlyKilling,
  uniqueKilled,
} from "@marina/mariadb";
import { type Connection, createConnection } from "mariadb";

// The agent's SQL over the local socket: its self-fence (../self-fence); on a donor,
// remembering which replication SQL threads ran before a backup and starting them again
// afterwards (mariadb-backup --safe-slave-backup stops the SQL thread and, when killed,
// never restarts it); a logical rebuild's wipe and load.

export interface LocalAccount {
  readonly socket: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly timeoutMs: number;
  /**
   * A byte stream to the socket instead of connecting to it here (the SSH backend: a
   * stream-local forward to the remote server's socket). Unset: the local socket.
   */
  readonly connect?: () => Promise<Duplex>;
}

export interface ReplicaThreads {
  readonly connection: string;
  readonly ioRunning: boolean;
  readonly sqlRunning: boolean;
}

async function open(a: LocalAccount): Promise<Connection> {
  try {
    const conn = await createConnection({
      ...(a.connect ? { stream: forwarded(a.connect) } : { socketPath: a.socket }),
      user: a.user,
      password: a.password ?? "",
      connectTimeout: a.timeoutMs,
      socketTimeout: a.timeoutMs,
      bigIntAsNumber: true,
      insertIdAsNumber: true,
      decimalAsNumber: true,
    });
    // An idle connection to a server that dies emits an error event; without a
    // listener that would crash the agent.
    conn.on("error", () => {});
    return conn;
  } catch (err) {
    throw new MarinaError(
      "SERVER_UNREACHABLE",
      `local server at ${a.socket}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * The connector's `stream` option for a forwarded socket. The connector waits for a
 * net.Socket's "connect" and calls setTimeout/setKeepAlive on it: a forward is connected
 * when it exists, and its idle timeout is kept here.
 */
function forwarded(connect: () => Promise<Duplex>) {
  return (cb: (err?: Error, stream?: Duplex) => void): void => {
    connect().then(
      (ch) => {
        let timer: NodeJS.Timeout | undefined;
        let idle: { ms: number; fn: () => void } | undefined;
        const arm = () => {
          clearTimeout(timer);
          if (idle && idle.ms > 0) timer = setTimeout(idle.fn, idle.ms);
        };
        const sock = ch as Duplex & Record<string, unknown>;
        sock.setTimeout = (ms: number, fn?: () => void) => {
          idle = fn ? { ms, fn } : undefined;
          arm();
          return ch;
        };
        sock.setKeepAlive = () => ch;
        sock.setNoDelay = () => ch;
        sock.unref = () => ch;
        sock.ref = () => ch;
        ch.on("data", arm);
        ch.once("close", () => clearTimeout(timer));
        cb(undefined, ch);
        process.nextTick(() => ch.emit("connect"));
      },
      (err: Error) => cb(err),
    );
  };
}

export async function withConnection<T>(
  a: LocalAccount,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const conn = await open(a);
  try {
    return await fn(conn);
  } catch (err) {
    if (err instanceof MarinaError) throw err;
    throw new MarinaError("SQL_ERROR", (err as Error).message, { cause: err });
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** The backup account's grants, for the start-up privilege check (no privilege needed). */
export function accountGrants(a: LocalAccount): Promise<GrantsReading> {
  return withConnection(a, (c) => readGrants(async (sql) => (await c.query(sql)) as Row[]));
}

/** One row per replication connection (multi-source included). */
export function replicaThreads(a: LocalAccount): Promise<ReplicaThreads[]> {
  return withConnection(a, async (c) => {
    const rows = (await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[];
    return rows.map((r) => ({
      connection: String(r.Connection_name ?? ""),
      ioRunning: r.Slave_IO_Running === "Yes",
      sqlRunning: r.Slave_SQL_Running === "Yes",
    }));
  });
}

/**
 * Starts the SQL thread of each named connection that is not running now. Returns the
 * connections it started. Names come from the server itself and are checked anyway.
 */
export function restartSqlThreads(
  a: LocalAccount,
  connections: readonly string[],
): Promise<string[]> {
  return withConnection(a, async (c) => {
    const rows = (await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[];
    const started: string[] = [];
    for (const name of connections) {
      if (!ConnectionName.safeParse(name).success) continue;
      const row = rows.find((r) => String(r.Connection_name ?? "") === name);
      if (!row || row.Slave_SQL_Running === "Yes") continue;
      await c.query(`START SLAVE '${name}' SQL_THREAD`);
      started.push(name);
    }
    return started;
  });
}

export interface PausedReplica {
  /** SHOW ALL SLAVES STATUS as it was before anything was stopped. */
  readonly rows: Record<string, unknown>[];
  /** The connections whose SQL thread this stopped (to be started again, exactly these). */
  readonly stopped: string[];
  /** gtid_slave_pos once they were stopped: nothing moves it until they start. */
  readonly gtidSlavePos: string;
}

/**
 * Stops the SQL thread of every connection running one (the IO threads keep fetching), then
 * reads gtid_slave_pos: the position of everything the server holds until they start again.
 * Not `--safe-slave-backup`, which stops the default connection only. A failure part-way
 * starts again what it stopped.
 */
export function pauseSqlThreads(a: LocalAccount): Promise<PausedReplica> {
  return withConnection(a, async (c) => {
    const rows = (await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[];
    const stopped: string[] = [];
    try {
      for (const r of rows) {
        const name = String(r.Connection_name ?? "");
        if (r.Slave_SQL_Running !== "Yes") continue;
        if (!ConnectionName.safeParse(name).success) {
          throw new MarinaError("REFUSED", `unexpected replication connection name ${name}`);
        }
        // Recorded first: a STOP that fails half-way is started again too (a no-op if it ran).
        stopped.push(name);
        await c.query(`STOP SLAVE '${name}' SQL_THREAD`);
      }
      const [row] = (await c.query("SELECT @@GLOBAL.gtid_slave_pos AS pos")) as { pos: string }[];
      return { rows, stopped, gtidSlavePos: String(row?.pos ?? "") };
    } catch (err) {
      for (const name of stopped) await c.query(`START SLAVE '${name}' SQL_THREAD`).catch(() => {});
      throw err;
    }
  });
}

/** Schemas a logical rebuild keeps on its target (the dump rewrites `mysql` itself). */
export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set([
  "mysql",
  "information_schema",
  "performance_schema",
  "sys",
]);

/** `name` as a quoted identifier (backticks doubled); names come from SHOW DATABASES. */
function quoteIdent(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

export interface WipeOutcome {
  readonly dropped: string[];
  readonly replicationReset: string[];
}

/**
 * Readies a RUNNING server for a logical load: read-only, every replication connection
 * stopped and forgotten, binlogs reset (errant GTIDs would conflict with the dump's
 * position under gtid_strict_mode), gtid_slave_pos emptied (so a dump without its
 * position is noticed), and every non-system database dropped — the dump drops and
 * creates only the databases it contains, so an errant extra one would survive.
 * Nothing of it is binlogged.
 */
export interface Binlogs {
  /** Directory of the binlog files (from @@log_bin_basename). */
  readonly dir: string;
  /** File names from SHOW BINARY LOGS (checked: plain names, no path). */
  readonly files: readonly string[];
}

/** Where the binlogs are and which files exist; null when binary logging is off. */
export function readBinlogs(a: LocalAccount): Promise<Binlogs | null> {
  return withConnection(a, (c) => binlogsOf(c));
}

async function binlogsOf(c: { query: (sql: string) => Promise<unknown> }): Promise<Binlogs | null> {
  const logBin = (await c.query(
    "SELECT @@GLOBAL.log_bin AS on_, @@GLOBAL.log_bin_basename AS base",
  )) as { on_: number; base: string | null }[];
  if (Number(logBin[0]?.on_) !== 1) return null;
  const base = String(logBin[0]?.base ?? "");
  const rows = (await c.query("SHOW BINARY LOGS")) as Record<string, unknown>[];
  const files = rows.map((r) => String(r.Log_name));
  if (!base.startsWith("/") || files.some((f) => !/^[A-Za-z0-9._-]+$/.test(f) || f === "..")) {
    throw new MarinaError("REFUSED", `unexpected binlog location ${base} ${files.join(" ")}`);
  }
  return { dir: dirname(base), files };
}

export function wipeForLoad(
  a: LocalAccount,
  /** Called with the binlogs just before they are reset (to save the extra events). */
  beforeReset?: (binlogs: Binlogs) => Promise<void>,
): Promise<WipeOutcome> {
  return withConnection(a, async (c) => {
    await c.query("SET SESSION sql_log_bin = 0");
    await c.query("SET GLOBAL read_only = 1");
    const conns = ((await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[]).map(
      (r) => String(r.Connection_name ?? ""),
    );
    if (conns.length > 0) await c.query("STOP ALL SLAVES");
    const replicationReset: string[] = [];
    for (const name of conns) {
      if (!ConnectionName.safeParse(name).success) {
        throw new MarinaError("REFUSED", `unexpected replication connection name ${name}`);
      }
      await c.query(`RESET SLAVE '${name}' ALL`);
      replicationReset.push(name);
    }
    const binlogs = await binlogsOf(c);
    if (binlogs) {
      if (beforeReset) await beforeReset(binlogs);
      await c.query("RESET MASTER");
    }
    await c.query("SET GLOBAL gtid_slave_pos = ''");
    const dbs = ((await c.query("SHOW DATABASES")) as Record<string, unknown>[]).map((r) =>
      String(r.Database),
    );
    const dropped: string[] = [];
    for (const db of dbs) {
      if (SYSTEM_SCHEMAS.has(db.toLowerCase())) continue;
      await c.query(`DROP DATABASE ${quoteIdent(db)}`);
      dropped.push(db);
    }
    return { dropped, replicationReset };
  });
}

/** After a load: privileges reloaded, and the position the dump recorded. */
/**
 * Before a load on top of what the server holds (a multi-source provisioning's later
 * source): read-only, and gtid_slave_pos emptied so the position read after the load is
 * the dump's own (a truncated dump then shows as an empty position, not the previous
 * source's). Refused while a replication SQL thread runs: the dump's `SET GLOBAL
 * gtid_slave_pos` would fail on it half-way.
 */
export function prepareKeptLoad(a: LocalAccount): Promise<{ previous: string }> {
  return withConnection(a, async (c) => {
    const rows = (await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[];
    const running = rows.filter((r) => r.Slave_SQL_Running === "Yes");
    if (running.length > 0) {
      const names = running.map((r) => `'${String(r.Connection_name ?? "")}'`).join(", ");
      throw new MarinaError(
        "REFUSED",
        `a load on top needs every replication connection stopped; running: ${names}`,
      );
    }
    await c.query("SET SESSION sql_log_bin = 0");
    await c.query("SET GLOBAL read_only = 1");
    const [row] = (await c.query("SELECT @@GLOBAL.gtid_slave_pos AS pos")) as { pos: string }[];
    await c.query("SET GLOBAL gtid_slave_pos = ''");
    return { previous: String(row?.pos ?? "") };
  });
}

export function loadedPosition(a: LocalAccount): Promise<string> {
  return withConnection(a, async (c) => {
    // FLUSH is binlogged unless told otherwise: it would be a local GTID.
    await c.query("FLUSH NO_WRITE_TO_BINLOG PRIVILEGES");
    const rows = (await c.query("SELECT @@GLOBAL.gtid_slave_pos AS pos")) as { pos: string }[];
    return String(rows[0]?.pos ?? "");
  });
}

/** Sets read_only=1 (a restored server, before anything else may write to it). */
export function setReadOnly(a: LocalAccount): Promise<void> {
  return withConnection(a, async (c) => {
    await c.query("SET GLOBAL read_only = 1");
  });
}

/** Whether the server is read-only now (@@read_only). */
export function readOnlyOf(a: LocalAccount): Promise<boolean> {
  return withConnection(a, async (c) => {
    const [row] = (await c.query("SELECT @@read_only AS ro")) as Array<{ ro: unknown }>;
    return Number(row?.ro ?? 0) !== 0;
  });
}

export interface LocalFence {
  /** False: it was read-only already, nothing was done. */
  readonly fenced: boolean;
  readonly killed: number;
  readonly rounds: number;
}

const asFenceSql = (c: Connection): FenceSql => ({
  rows: async (sql, params) => (await c.query(sql, params ? [...params] : undefined)) as Row[],
  run: async (stmt) => {
    await c.query(stmt.sql, stmt.params ? [...stmt.params] : undefined);
  },
});

/**
 * Fences the server as the executor's fence step does (@marina/mariadb's fence kernel):
 * read_only=1 while client connections — privileged ones too, not `protectedUsers`' — are
 * killed round after round, then one more round. Semi-sync is left as it is.
 */
export function fenceLocal(
  a: LocalAccount,
  protectedUsers: ReadonlySet<string>,
  sleep: (ms: number) => Promise<void>,
): Promise<LocalFence> {
  return withConnection(a, async (db) => {
    const [row] = (await db.query("SELECT @@read_only AS ro")) as Array<{ ro: unknown }>;
    if (Number(row?.ro ?? 0) !== 0) return { fenced: false, killed: 0, rounds: 0 };
    const opts = { protectedUsers, includePrivileged: true };
    const r = await withConnection(a, (killer) =>
      readOnlyKilling(asFenceSql(db), asFenceSql(killer), opts, sleep),
    );
    const last = await killClientConnections(asFenceSql(db), opts);
    return {
      fenced: true,
      killed: uniqueKilled([...r.killed, ...last.killed]).length,
      rounds: r.rounds + 1,
    };
  });
}
