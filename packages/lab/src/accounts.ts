import type { Connection } from "./connection.js";
import type { Account, LabCredentials } from "./credentials.js";
import { quoteIdent } from "./sql.js";

export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

// '%' serves TCP (skip-name-resolve: 127.0.0.1 and namespace addresses), 'localhost' the socket.
const HOSTS = ["%", "localhost"] as const;

/**
 * Marina's accounts get exactly the grants docs/security.md gives ("MariaDB accounts"),
 * measured on 10.11: the whole e2e suite runs with least privilege. root (socket) does the
 * lab's own setup.
 */
export const LAB_GRANTS = {
  /** The executors' (clusters[].admin). */
  marina:
    "READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, CONNECTION ADMIN, RELOAD, PROCESS, SLAVE MONITOR",
  /** The monitor's (clusters[].monitorAccount): read-only. */
  monitor: "SLAVE MONITOR, PROCESS",
  /**
   * The agents' (backup): a physical rebuild's donor, then a logical rebuild's donor, then
   * the self-fence.
   */
  backup:
    "RELOAD, PROCESS, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN, SELECT, SHOW VIEW, TRIGGER, EVENT, READ_ONLY ADMIN, CONNECTION ADMIN",
  /** The replicas' (clusters[].replication). */
  repl: "REPLICATION SLAVE",
} as const;

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
  const user = (host: string, a: Account, grants: string): Statement[] => {
    const who = `'${a.user.replace(/'/g, "''")}'@'${host}'`;
    return [
      { sql: `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ?`, params: [a.password] },
      { sql: `GRANT ${grants} ON *.* TO ${who}` },
    ];
  };
  // The backup account is the agents' over the socket: 'localhost' only.
  out.push(...user("localhost", c.backup, LAB_GRANTS.backup));
  for (const host of HOSTS) {
    const who = (name: string) => `'${name.replace(/'/g, "''")}'@'${host}'`;
    out.push(
      ...user(host, c.marina, LAB_GRANTS.marina),
      ...user(host, c.monitor, LAB_GRANTS.monitor),
      ...user(host, c.repl, LAB_GRANTS.repl),
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
