import { ConnectionName, MarinaError } from "@marina/contracts";
import { type Connection, createConnection } from "mariadb";

// The agent's only SQL: on a donor, remember which replication SQL threads ran before a
// backup and start them again afterwards (mariadb-backup --safe-slave-backup stops the
// SQL thread and, when killed, never restarts it).

export interface LocalAccount {
  readonly socket: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly timeoutMs: number;
}

export interface ReplicaThreads {
  readonly connection: string;
  readonly ioRunning: boolean;
  readonly sqlRunning: boolean;
}

async function open(a: LocalAccount): Promise<Connection> {
  try {
    const conn = await createConnection({
      socketPath: a.socket,
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

async function withConnection<T>(a: LocalAccount, fn: (c: Connection) => Promise<T>): Promise<T> {
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
