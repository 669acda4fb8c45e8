// The executor's session: one connection (@marina/mariadb's connector, strict timeouts) to
// one server for the duration of one step; every failure comes out as a MarinaError
// (@marina/mariadb's table).
import {
  closeConnection,
  connectMariadb,
  type DbConnection,
  type DbTls,
  errnoOf,
  marinaErrorOf,
  type Row,
} from "@marina/mariadb";
import type { Logger } from "@marina/runtime";
import type { Statement } from "./sql.js";

/** One connection to one server, for the duration of one step. */
export interface Session {
  /** Rows of a result-set statement (SELECT, SHOW). */
  rows(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** A statement without a result set. */
  run(stmt: Statement): Promise<void>;
  close(): Promise<void>;
}

export interface DbTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** For messages: `db2 (127.0.0.1:3307)`. */
  readonly label: string;
  readonly tls?: DbTls | undefined;
}

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  /** A query that gets no answer within this fails; a frozen server then shows as unreachable. */
  readonly socketTimeoutMs: number;
}

export type Connector = (target: DbTarget, opts: ConnectOptions, log: Logger) => Promise<Session>;

/** Opens a fresh connection; errors come out as MarinaError. */
export const connectSession: Connector = async (target, opts, log) => {
  let conn: DbConnection;
  try {
    conn = await connectMariadb({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      connectTimeoutMs: opts.connectTimeoutMs,
      socketTimeoutMs: opts.socketTimeoutMs,
      tls: target.tls,
    });
  } catch (err) {
    throw marinaErrorOf(err, target.label);
  }
  let broken = false;
  conn.on("error", (err: Error) => {
    broken = true;
    log.warn({ errno: errnoOf(err), msg: err.message.split("\n")[0] }, "database connection error");
  });
  const guard = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      return await p();
    } catch (err) {
      const e = marinaErrorOf(err, target.label);
      if (e.code === "SERVER_UNREACHABLE") broken = true;
      throw e;
    }
  };
  return {
    rows: (sql, params) =>
      guard(async () => {
        const r: unknown = await conn.query(sql, params ? [...params] : undefined);
        return Array.isArray(r) ? (r as Row[]) : [];
      }),
    run: (stmt) =>
      guard(async () => {
        await conn.query(stmt.sql, stmt.params ? [...stmt.params] : undefined);
      }),
    // A reply must never wait on COM_QUIT: closeConnection destroys after 1 s.
    close: () => closeConnection(conn, { broken }),
  };
};
