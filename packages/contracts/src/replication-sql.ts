// SQL text for the statements the executor sends for its replication steps. Pure: no
// connection, no I/O. Here, not in the executor, so that a dry-run (decider-core) shows the
// very text a step runs; the fence's own statements are in @marina/mariadb (fence/).
//
// Two rules keep input out of the SQL grammar:
// - identifiers-as-strings (replication connection names) and GTID lists are validated
//   against a closed alphabet (no quote, backslash or whitespace can pass) and then quoted;
// - free text (host, user, password) is never put into the SQL string: it goes in `params`
//   and the mariadb connector substitutes it as an escaped literal client-side (it knows
//   the session's NO_BACKSLASH_ESCAPES state). MariaDB refuses `?` in CHANGE MASTER over
//   the binary protocol (`execute()` → 1064), so these statements must use `query()`.
import { MarinaError } from "./errors.js";
import { formatGtidList, parseGtidList } from "./gtid.js";

export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

const CONNECTION_NAME = /^[A-Za-z0-9_-]{0,64}$/;

/** `'name'` for a replication connection; '' is the default connection. */
export function connectionLiteral(name: string): string {
  if (!CONNECTION_NAME.test(name)) {
    throw new MarinaError(
      "VALIDATION_FAILED",
      `replication connection name ${JSON.stringify(name)} must be letters, digits, '-' or '_'`,
      { path: "payload.step.connection" },
    );
  }
  return `'${name}'`;
}

/** A GTID list in MariaDB's canonical form (sorted, no spaces); throws on bad input. */
export function canonicalGtid(pos: string): string {
  try {
    return formatGtidList(parseGtidList(pos));
  } catch (err) {
    throw new MarinaError("VALIDATION_FAILED", `bad GTID list: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export const UseGtidModes = ["slave_pos", "current_pos"] as const;
export type UseGtid = (typeof UseGtidModes)[number];

export function stopSlave(connection: string, thread?: "IO_THREAD" | "SQL_THREAD"): Statement {
  return { sql: `STOP SLAVE ${connectionLiteral(connection)}${thread ? ` ${thread}` : ""}` };
}

export function startSlave(connection: string, thread?: "IO_THREAD" | "SQL_THREAD"): Statement {
  return { sql: `START SLAVE ${connectionLiteral(connection)}${thread ? ` ${thread}` : ""}` };
}

export function startSlaveUntil(connection: string, untilGtid: string): Statement {
  return {
    sql: `START SLAVE ${connectionLiteral(connection)} UNTIL master_gtid_pos = ?`,
    params: [canonicalGtid(untilGtid)],
  };
}

export function resetSlaveAll(connection: string): Statement {
  return { sql: `RESET SLAVE ${connectionLiteral(connection)} ALL` };
}

export interface ChangeMasterTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly useGtid: UseGtid;
  /** Replication over TLS, the source's certificate verified against this CA file (on the replica's host). */
  readonly sslCa?: string | undefined;
}

export function changeMaster(connection: string, t: ChangeMasterTarget): Statement {
  if (!UseGtidModes.includes(t.useGtid)) {
    throw new MarinaError("VALIDATION_FAILED", `useGtid must be one of ${UseGtidModes.join(", ")}`);
  }
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) {
    throw new MarinaError("VALIDATION_FAILED", `port ${t.port} is not a TCP port`);
  }
  return {
    sql:
      `CHANGE MASTER ${connectionLiteral(connection)} TO MASTER_HOST=?, MASTER_PORT=?, ` +
      `MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=${t.useGtid}, ` +
      "MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1" +
      (t.sslCa !== undefined
        ? ", MASTER_SSL=1, MASTER_SSL_CA=?, MASTER_SSL_VERIFY_SERVER_CERT=1"
        : ""),
    params: [t.host, t.port, t.user, t.password, ...(t.sslCa !== undefined ? [t.sslCa] : [])],
  };
}

export function setGtidSlavePos(pos: string): Statement {
  return { sql: "SET GLOBAL gtid_slave_pos = ?", params: [canonicalGtid(pos)] };
}

export function setSemiSync(side: "master" | "slave", on: boolean): Statement {
  return { sql: `SET GLOBAL rpl_semi_sync_${side}_enabled = ${on ? "ON" : "OFF"}` };
}

/**
 * Strict durability, set before semi-sync master is turned on: a commit waits for a
 * replica's ack for ever (the timeout's maximum, 2^64-1 ms), also when no replica is
 * connected, and is acknowledged only after the replica has it (AFTER_SYNC).
 */
export const SEMI_SYNC_STRICT: readonly Statement[] = [
  { sql: "SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC" },
  { sql: "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON" },
  { sql: "SET GLOBAL rpl_semi_sync_master_timeout = 18446744073709551615" },
];

export const SELECT_SEMI_SYNC_STRICT =
  "SELECT @@rpl_semi_sync_master_timeout = 18446744073709551615 AND " +
  "@@rpl_semi_sync_master_wait_no_slave = 1 AND " +
  "@@rpl_semi_sync_master_wait_point = 'AFTER_SYNC' AS strict";

/** Whether semi-sync master is in effect (OFF after a fallback to async, until a replica catches up). */
export const SELECT_SEMI_SYNC_MASTER_STATUS =
  "SELECT VARIABLE_VALUE = 'ON' AS `on` FROM information_schema.GLOBAL_STATUS " +
  "WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS'";

/** Whether this server's IO threads acknowledge as a semi-sync replica (until they restart). */
export const SELECT_SEMI_SYNC_SLAVE_STATUS =
  "SELECT VARIABLE_VALUE = 'ON' AS `on` FROM information_schema.GLOBAL_STATUS " +
  "WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_SLAVE_STATUS'";

/** MASTER_GTID_WAIT takes seconds (a decimal); 0 = reached, -1 = timed out. */
export function masterGtidWait(pos: string, timeoutMs: number): Statement {
  return {
    sql: "SELECT MASTER_GTID_WAIT(?, ?) AS result",
    params: [canonicalGtid(pos), Math.max(0, timeoutMs) / 1000],
  };
}

export const SELECT_GTID_POSITIONS =
  "SELECT @@gtid_binlog_pos AS gtid_binlog_pos, @@gtid_slave_pos AS gtid_slave_pos, " +
  "@@gtid_current_pos AS gtid_current_pos";
export const SELECT_READ_ONLY = "SELECT @@read_only AS read_only";
export const SELECT_BINLOG_POS = "SELECT @@gtid_binlog_pos AS gtid_binlog_pos";
export const SELECT_SLAVE_POS = "SELECT @@gtid_slave_pos AS gtid_slave_pos";
export const SELECT_SEMI_SYNC_ENABLED =
  "SELECT @@rpl_semi_sync_master_enabled AS master, @@rpl_semi_sync_slave_enabled AS slave";
export const SHOW_ALL_SLAVES = "SHOW ALL SLAVES STATUS";
