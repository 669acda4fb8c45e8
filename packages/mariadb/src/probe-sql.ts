// The SQL that reads one server's state: the monitor sends it as ONE multi-statement query
// (on a frozen server a probe then costs one socket wait, not four); the executor's inspect
// sends the same statements one by one (its connections refuse multiple statements).
// Constant text: no statement takes input.

/**
 * Variables every MariaDB 10.x has, read as @@ so one SELECT returns them. Client
 * connections leave out this session, system and replication threads, and the sessions of
 * the probing account (`USER()` is `user@host`): the monitors'. With a `monitorAccount` of
 * their own, executor sessions (admin) count as clients while a step runs. The count needs
 * PROCESS: without it PROCESSLIST shows this session only and the count is 0.
 */
const VARIABLES = `SELECT
  @@version AS version,
  @@server_id AS server_id,
  @@read_only AS read_only,
  @@log_bin AS log_bin,
  @@log_slave_updates AS log_slave_updates,
  @@gtid_domain_id AS gtid_domain_id,
  @@gtid_strict_mode AS gtid_strict_mode,
  @@gtid_binlog_pos AS gtid_binlog_pos,
  @@gtid_binlog_state AS gtid_binlog_state,
  @@gtid_current_pos AS gtid_current_pos,
  @@gtid_slave_pos AS gtid_slave_pos,
  (SELECT COUNT(*) FROM information_schema.PROCESSLIST
    WHERE ID <> CONNECTION_ID()
      AND USER NOT IN ('system user', 'event_scheduler', 'delayed',
        SUBSTRING_INDEX(USER(), '@', 1))
      AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO',
        'Slave_SQL', 'Slave_worker'))
    AS client_connections`;

/**
 * Semi-sync settings and status by name: read from information_schema rather than @@ so a
 * server without the semi-sync plugin answers with fewer rows instead of an error.
 */
const SEMI_SYNC = `SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value
  FROM information_schema.GLOBAL_VARIABLES
  WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_ENABLED', 'RPL_SEMI_SYNC_SLAVE_ENABLED',
    'RPL_SEMI_SYNC_MASTER_WAIT_POINT', 'RPL_SEMI_SYNC_MASTER_TIMEOUT')
UNION ALL
SELECT VARIABLE_NAME, VARIABLE_VALUE
  FROM information_schema.GLOBAL_STATUS
  WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_STATUS', 'RPL_SEMI_SYNC_MASTER_CLIENTS',
    'RPL_SEMI_SYNC_SLAVE_STATUS')`;

const SLAVES = "SHOW ALL SLAVES STATUS";

/** Needs the DISKS plugin; a prober tries it once per connection and drops it on error. */
export const DISKS_SQL =
  "SELECT Disk AS disk, Path AS path, Total AS total_kb, Available AS available_kb FROM information_schema.DISKS";

/**
 * Age of the oldest open InnoDB transaction, 0 with none (the switchover's long-transaction
 * pre-check). Needs PROCESS — refused (1227) without it, where PROCESSLIST would only show
 * less — so a prober tries it once per connection and drops it on error, as DISKS_SQL.
 */
export const OLDEST_TRX_SQL =
  "SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0) AS oldest_trx_seconds FROM information_schema.INNODB_TRX";

/**
 * The probe's statements; result sets in this order: variables, semi-sync, slaves[, disks]
 * [, oldest transaction].
 */
export function probeStatements(withDisks: boolean, withTrx = false): readonly string[] {
  return [
    VARIABLES,
    SEMI_SYNC,
    SLAVES,
    ...(withDisks ? [DISKS_SQL] : []),
    ...(withTrx ? [OLDEST_TRX_SQL] : []),
  ];
}

/** The probe as one multi-statement query (needs a `multipleStatements` connection). */
export function probeSql(withDisks: boolean, withTrx = false): string {
  return probeStatements(withDisks, withTrx).join(";\n");
}
