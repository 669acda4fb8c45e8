// The SQL one probe sends. Everything goes in ONE round trip (a multi-statement query):
// on a frozen server the probe then costs one socket wait, not four.

/**
 * Variables every MariaDB 10.x has, read as @@ so one SELECT returns them. The client
 * connection count leaves out replication, system and daemon threads and this probe itself.
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
      AND USER NOT IN ('system user', 'event_scheduler')
      AND COMMAND NOT IN ('Binlog Dump', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker'))
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

/** Needs the DISKS plugin; the prober tries it once per connection and drops it on error. */
export const DISKS_SQL =
  "SELECT Disk AS disk, Path AS path, Total AS total_kb, Available AS available_kb FROM information_schema.DISKS";

/** The probe: result sets in this order: variables, semi-sync, slaves[, disks]. */
export function probeSql(withDisks: boolean): string {
  const parts = [VARIABLES, SEMI_SYNC, SLAVES];
  if (withDisks) parts.push(DISKS_SQL);
  return parts.join(";\n");
}
