// The one place that opens MariaDB connections, with the lab's rules: connectTimeout and
// socketTimeout always set (a frozen server must not hang a caller), numbers as numbers
// (GTIDs are strings anyway), dates as strings (results stay JSON-safe), statement
// parameters never logged by the connector (CHANGE MASTER carries a password).
import { createConnection } from "mariadb";

export interface DbTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
  /** An idle timer on the socket: no byte for this long fails the connection. */
  readonly socketTimeoutMs: number;
  /**
   * Several statements in one query: only for constant SQL (the monitor's probe). Off by
   * default: a connection that takes parameters must not also take a statement list.
   */
  readonly multipleStatements?: boolean;
  /** TLS, the server's certificate and name verified against `ca` (PEM texts). */
  readonly tls?: DbTls | undefined;
}

export interface DbTls {
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** What callers use of a connection; tests pass fakes. */
export interface DbConnection {
  query(sql: string, values?: unknown[]): Promise<unknown>;
  on(event: "error", listener: (err: Error) => void): unknown;
  destroy(): void;
  end(): Promise<void>;
}

export type Connector = (target: DbTarget) => Promise<DbConnection>;

/**
 * Opens a connection. An idle connection to a killed server emits 'error', and an
 * unhandled 'error' crashes the process, so a listener is attached before anyone else
 * sees the connection; callers add their own to react.
 */
export const connectMariadb: Connector = async (t) => {
  const conn = await createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    connectTimeout: t.connectTimeoutMs,
    socketTimeout: t.socketTimeoutMs,
    multipleStatements: t.multipleStatements ?? false,
    ...(t.tls
      ? {
          ssl: {
            ca: t.tls.ca,
            ...(t.tls.cert !== undefined ? { cert: t.tls.cert } : {}),
            ...(t.tls.key !== undefined ? { key: t.tls.key } : {}),
            rejectUnauthorized: true,
          },
        }
      : {}),
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    dateStrings: true,
    logParam: false,
  });
  conn.on("error", () => {});
  return conn;
};

/**
 * Ends a connection without throwing or hanging: end() waits for the server's answer to
 * COM_QUIT, so the connection is destroyed when that takes longer than `timeoutMs`, and at
 * once when it is known to be broken.
 */
export async function closeConnection(
  conn: DbConnection,
  o: { readonly timeoutMs?: number; readonly broken?: boolean } = {},
): Promise<void> {
  if (o.broken) {
    conn.destroy();
    return;
  }
  const timer = setTimeout(() => conn.destroy(), o.timeoutMs ?? 1000);
  try {
    await conn.end();
  } catch {
    conn.destroy();
  } finally {
    clearTimeout(timer);
  }
}
