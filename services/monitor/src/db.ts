// The one place that opens MariaDB connections. Everything the prober needs from a
// connection is in DbConnection, so unit tests can pass a fake and the rest stays typed.
import { createConnection } from "mariadb";

export interface DbTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
  readonly socketTimeoutMs: number;
}

export interface DbConnection {
  query(sql: string): Promise<unknown>;
  on(event: "error", listener: (err: Error) => void): unknown;
  destroy(): void;
  end(): Promise<void>;
}

export type Connector = (target: DbTarget) => Promise<DbConnection>;

/**
 * mariadb connector 3.5 with the lab's rules: connectTimeout and socketTimeout always set,
 * numbers as numbers (GTIDs are strings anyway), and multipleStatements so a probe is one
 * round trip. The SQL sent is constant text, so multipleStatements opens no injection path.
 * An idle connection to a killed server emits 'error'; unhandled, that crashes the process,
 * so a listener is attached here before anyone else sees the connection.
 */
export const mariadbConnector: Connector = async (t) => {
  const conn = await createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    connectTimeout: t.connectTimeoutMs,
    socketTimeout: t.socketTimeoutMs,
    multipleStatements: true,
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    // The monitor never needs dates as objects; strings keep results JSON-safe.
    dateStrings: true,
  });
  // Until the prober attaches its own listener, nothing may crash the process.
  conn.on("error", () => {});
  return conn;
};

/** Ends a connection without throwing or hanging: destroy when end() does not finish. */
export async function closeConnection(conn: DbConnection, timeoutMs = 1000): Promise<void> {
  const timer = setTimeout(() => conn.destroy(), timeoutMs);
  try {
    await conn.end();
  } catch {
    conn.destroy();
  } finally {
    clearTimeout(timer);
  }
}
