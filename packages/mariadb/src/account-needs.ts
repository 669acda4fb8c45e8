// The privileges each Marina account needs on MariaDB 10.11, measured on the server by
// running every statement the service sends as an account holding only these (see
// docs/security.md, "MariaDB accounts", for the GRANT statements and what was measured).
// Alternatives are the ones the server itself names in its 1227 error ("you need (at least
// one of) the SUPER, SLAVE MONITOR privilege(s)"); since 10.11 SUPER no longer includes
// READ_ONLY ADMIN, and RESET SLAVE wants RELOAD whatever else the account holds.
import type { PrivilegeNeed } from "./grants.js";

const SLAVE_MONITOR: PrivilegeNeed = {
  anyOf: ["SLAVE MONITOR", "SUPER"],
  on: "*.*",
  reason: "SHOW ALL SLAVES STATUS (replication state); without it every probe fails",
};

const PROCESS: PrivilegeNeed = {
  anyOf: ["PROCESS"],
  on: "*.*",
  reason:
    "see other sessions in information_schema.PROCESSLIST; without it the list silently holds only the account's own",
};

/** The monitor's probe (packages/mariadb/src/probe-sql.ts): read-only. */
export const MONITOR_NEEDS: readonly PrivilegeNeed[] = [
  SLAVE_MONITOR,
  {
    ...PROCESS,
    reason: `client_connections of a health sample: ${PROCESS.reason}; and oldestTransactionSeconds (information_schema.INNODB_TRX refuses without it, so the sample leaves it out)`,
  },
];

/** Every step kind of the executor (services/executor/src/steps). */
export const EXECUTOR_NEEDS: readonly PrivilegeNeed[] = [
  {
    ...SLAVE_MONITOR,
    reason: "SHOW ALL SLAVES STATUS: every replication step and inspect read it first",
  },
  {
    ...PROCESS,
    reason: `fence and kill-clients list the client sessions to kill: ${PROCESS.reason}, so nothing would be killed`,
  },
  {
    anyOf: ["READ_ONLY ADMIN"],
    on: "*.*",
    reason:
      "SET GLOBAL read_only (fence, set-read-only), and SET GLOBAL gtid_slave_pos on a read-only server (refused with 1290 otherwise); SUPER does not include it since 10.11",
  },
  {
    anyOf: ["REPLICATION SLAVE ADMIN", "SUPER"],
    on: "*.*",
    reason:
      "CHANGE MASTER, START/STOP SLAVE, SET GLOBAL gtid_slave_pos, rpl_semi_sync_slave_enabled",
  },
  {
    anyOf: ["RELOAD"],
    on: "*.*",
    reason: "RESET SLAVE 'x' ALL (reset-replication); SUPER is not enough",
  },
  {
    anyOf: ["REPLICATION MASTER ADMIN", "SUPER"],
    on: "*.*",
    reason: "SET GLOBAL rpl_semi_sync_master_enabled (fence, set-semi-sync, promotion)",
  },
  {
    anyOf: ["CONNECTION ADMIN", "SUPER"],
    on: "*.*",
    reason: "KILL CONNECTION of other accounts' sessions (fence, kill-clients): 1095 otherwise",
  },
  {
    anyOf: ["SELECT"],
    on: "mysql.*",
    optional: true,
    reason:
      "see other accounts' privileges in information_schema.USER_PRIVILEGES; without it a switchover without force cannot spare SUPER/READ_ONLY ADMIN sessions and kills them too",
  },
];

/**
 * What the executors' account needs on top of EXECUTOR_NEEDS when clusters[].saveBinlogs is
 * set (the save-binlogs step), measured on 10.11.
 */
export const BINLOG_SAVE_NEEDS: readonly PrivilegeNeed[] = [
  {
    anyOf: ["REPLICATION SLAVE"],
    on: "*.*",
    reason:
      "save-binlogs dumps the diverged server's binlogs over the replication protocol (mariadb-binlog --read-from-remote-server): refused without it",
  },
  {
    anyOf: ["BINLOG MONITOR", "SUPER"],
    on: "*.*",
    reason: "save-binlogs lists the binlog files (SHOW BINARY LOGS): 1227 without it",
  },
];

/**
 * What a flashback needs on top of BINLOG_SAVE_NEEDS (the flashback step dumps and judges the
 * same way), measured on 10.11; the step checks them (and SELECT on the tables it compares,
 * flashbackTableNeeds) before it changes anything. RESET MASTER needs RELOAD (EXECUTOR_NEEDS).
 */
export const FLASHBACK_NEEDS: readonly PrivilegeNeed[] = [
  {
    anyOf: ["BINLOG REPLAY", "SUPER"],
    on: "*.*",
    reason:
      "flashback applies the reverse as BINLOG statements (mariadb --init-command): 1227 without it",
  },
  {
    anyOf: ["BINLOG ADMIN", "SUPER"],
    on: "*.*",
    reason:
      "flashback applies the reverse with SET SESSION sql_log_bin=0 and sets gtid_binlog_state after RESET MASTER: 1227 without it",
  },
];

/** SELECT on each database whose tables a flashback compares with the primary (CHECKSUM TABLE). */
export function flashbackTableNeeds(schemas: readonly string[]): PrivilegeNeed[] {
  return [...new Set(schemas)].map((db) => ({
    anyOf: ["SELECT"],
    on: `${db}.*` as const,
    reason: `compare-tables reads the flashed-back tables of ${db} (CHECKSUM TABLE) on the server and the primary: 1142 without it`,
  }));
}

/**
 * The agent's backup account over the socket: a physical rebuild's donor (mariadb-backup
 * --backup --slave-info --safe-slave-backup) and the SQL threads it restarts afterwards.
 */
export const BACKUP_NEEDS: readonly PrivilegeNeed[] = [
  {
    anyOf: ["RELOAD"],
    on: "*.*",
    reason: "mariadb-backup: BACKUP STAGE (refuses to start without)",
  },
  {
    anyOf: ["PROCESS"],
    on: "*.*",
    reason:
      "mariadb-backup: reads the server's sessions and InnoDB state (refuses to start without)",
  },
  {
    anyOf: ["BINLOG MONITOR", "SUPER"],
    on: "*.*",
    reason:
      "mariadb-backup: SHOW MASTER STATUS for the backup's GTID position (fails at the end without)",
  },
  {
    anyOf: ["SLAVE MONITOR", "SUPER"],
    on: "*.*",
    reason: "mariadb-backup --slave-info and the agent: SHOW ALL SLAVES STATUS",
  },
  {
    anyOf: ["REPLICATION SLAVE ADMIN", "SUPER"],
    on: "*.*",
    reason:
      "mariadb-backup --safe-slave-backup stops a donor replica's SQL thread; the agent starts it again",
  },
  ...["SELECT", "SHOW VIEW", "TRIGGER", "EVENT"].map(
    (p): PrivilegeNeed => ({
      anyOf: [p],
      on: "*.*",
      optional: true,
      reason: `a logical rebuild's donor: mariadb-dump --all-databases --routines --events --triggers${
        p === "TRIGGER" ? " (without it the dump leaves the triggers out, silently)" : ""
      }`,
    }),
  ),
  {
    anyOf: ["ALL PRIVILEGES"],
    on: "*.*",
    optional: true,
    reason:
      "a logical rebuild onto this server: it wipes the server and loads the donor's dump, the mysql schema (accounts, grants) included, so nothing less will do",
  },
];

/**
 * The agent's backup account when the agent self-fences (its config's `selfFence`): the
 * statements of the fence kernel, on the local server. PROCESS is among BACKUP_NEEDS.
 */
export const SELF_FENCE_NEEDS: readonly PrivilegeNeed[] = [
  {
    anyOf: ["READ_ONLY ADMIN"],
    on: "*.*",
    reason:
      "self-fence: SET GLOBAL read_only=1 on a primary cut off from Marina; SUPER does not include it since 10.11",
  },
  {
    anyOf: ["CONNECTION ADMIN", "SUPER"],
    on: "*.*",
    reason: "self-fence: KILL CONNECTION of the clients of a primary it fences (1095 otherwise)",
  },
];
