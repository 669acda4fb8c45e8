import type { Connection } from "./connection.js";
import type { LabCredentials } from "./credentials.js";
import { quoteIdent } from "./sql.js";

export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

// '%' serves TCP (skip-name-resolve: 127.0.0.1 and namespace addresses), 'localhost' the socket.
const HOSTS = ["%", "localhost"] as const;

/**
 * The lab's accounts and the `app` database. They are created on EVERY node with
 * sql_log_bin=0 before any replication is configured, so each node has them (a promoted
 * replica too) while every GTID history starts empty and identical — also in the
 * multi-source shape, where two primaries creating the same user through the binlog would
 * break the replica.
 */
export function accountStatements(c: LabCredentials): Statement[] {
  const db = quoteIdent(c.app.database);
  const out: Statement[] = [
    { sql: "SET SESSION sql_log_bin=0" },
    { sql: `CREATE DATABASE IF NOT EXISTS ${db}` },
  ];
  for (const host of HOSTS) {
    const who = (user: string) => `'${user.replace(/'/g, "''")}'@'${host}'`;
    out.push(
      {
        sql: `CREATE USER IF NOT EXISTS ${who(c.marina.user)} IDENTIFIED BY ?`,
        params: [c.marina.password],
      },
      { sql: `GRANT ALL PRIVILEGES ON *.* TO ${who(c.marina.user)} WITH GRANT OPTION` },
      {
        sql: `CREATE USER IF NOT EXISTS ${who(c.repl.user)} IDENTIFIED BY ?`,
        params: [c.repl.password],
      },
      {
        sql: `GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR, SLAVE MONITOR ON *.* TO ${who(c.repl.user)}`,
      },
      {
        sql: `CREATE USER IF NOT EXISTS ${who(c.app.user)} IDENTIFIED BY ?`,
        params: [c.app.password],
      },
      { sql: `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON ${db}.* TO ${who(c.app.user)}` },
    );
  }
  return out;
}

/** Runs the account statements on one dedicated connection (sql_log_bin is per session). */
export async function createAccounts(conn: Connection, c: LabCredentials): Promise<void> {
  for (const s of accountStatements(c))
    await conn.query(s.sql, s.params ? [...s.params] : undefined);
}
