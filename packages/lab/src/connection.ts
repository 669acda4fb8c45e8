import { type Connection, createConnection } from "mariadb";

export type { Connection } from "mariadb";

export interface ConnectSpec {
  readonly user: string;
  readonly password?: string;
  /** Unix socket; when set, host/port are ignored. */
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly connectTimeoutMs?: number;
  /**
   * Without it an open connection to a SIGSTOPped server hangs forever. It is an
   * inactivity timer: an idle connection is closed after it too (isValid() turns false).
   */
  readonly socketTimeoutMs?: number;
  /** TLS over TCP with this CA (PEM text), the server's name verified. */
  readonly tlsCa?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_SOCKET_TIMEOUT_MS = 10_000;

/**
 * Opens a connection with the lab's numeric conventions and an 'error' listener: an idle
 * connection to a killed server emits ER_SOCKET_UNEXPECTED_CLOSE, which would crash the
 * process if nobody listened. The caller sees the failure on its next query.
 */
export async function openConnection(spec: ConnectSpec): Promise<Connection> {
  const conn = await createConnection({
    user: spec.user,
    password: spec.password ?? "",
    ...(spec.socketPath
      ? { socketPath: spec.socketPath }
      : { host: spec.host ?? "127.0.0.1", port: spec.port ?? 3306 }),
    ...(spec.database ? { database: spec.database } : {}),
    ...(spec.tlsCa && !spec.socketPath
      ? { ssl: { ca: spec.tlsCa, rejectUnauthorized: true } }
      : {}),
    connectTimeout: spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    socketTimeout: spec.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
  });
  conn.on("error", () => {});
  return conn;
}

/** Ends a connection without ever throwing or hanging (destroy if end fails). */
export async function closeQuietly(conn: Connection | undefined): Promise<void> {
  if (!conn) return;
  if (!conn.isValid()) {
    conn.destroy();
    return;
  }
  const timer = setTimeout(() => conn.destroy(), 1_000);
  try {
    await conn.end();
  } catch {
    conn.destroy();
  } finally {
    clearTimeout(timer);
  }
}
