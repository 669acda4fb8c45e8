import mariadb, { type Connection } from "mariadb";
import { classifyDbError, errnoOf } from "./db-errors.js";
import type { Logger } from "./logger.js";
import type { Row } from "./rows.js";
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
}

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  /** A query that gets no answer within this fails; a frozen server then shows as unreachable. */
  readonly socketTimeoutMs: number;
}

export type Connector = (target: DbTarget, opts: ConnectOptions, log: Logger) => Promise<Session>;

/** Opens a fresh connection with strict timeouts; errors come out as MarinaError. */
export const connectMariadb: Connector = async (target, opts, log) => {
  let conn: Connection;
  try {
    conn = await mariadb.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      connectTimeout: opts.connectTimeoutMs,
      socketTimeout: opts.socketTimeoutMs,
      bigIntAsNumber: true,
      insertIdAsNumber: true,
      decimalAsNumber: true,
      multipleStatements: false,
      // Never log statement parameters: CHANGE MASTER carries the replication password.
      logParam: false,
    });
  } catch (err) {
    throw classifyDbError(err, target.label);
  }
  let broken = false;
  // An idle connection to a killed server emits 'error'; unhandled, it would crash the process.
  conn.on("error", (err: Error) => {
    broken = true;
    log.warn({ errno: errnoOf(err), msg: err.message.split("\n")[0] }, "database connection error");
  });
  const guard = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      return await p();
    } catch (err) {
      const e = classifyDbError(err, target.label);
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
    close: async () => {
      if (broken) {
        conn.destroy();
        return;
      }
      // end() waits for the server's answer to COM_QUIT; never let that hold a reply up.
      const timer = setTimeout(() => conn.destroy(), 1000);
      try {
        await conn.end();
      } catch {
        conn.destroy();
      } finally {
        clearTimeout(timer);
      }
    },
  };
};
