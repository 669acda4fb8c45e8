/** Values allowed in a my.cnf line; `true` writes a bare option name. */
export type CnfValue = string | number | boolean;

export interface MyCnfSpec {
  readonly datadir: string;
  readonly socket: string;
  readonly port: number;
  readonly host: string;
  readonly pidFile: string;
  readonly errorLog: string;
  /** Private tmpdir: labs started at once must not share temp-table names in /tmp. */
  readonly tmpDir: string;
  readonly serverId: number;
  readonly domainId: number;
  readonly readOnly: boolean;
  /** Semi-sync slave side; the master side is only ever switched on at runtime. */
  readonly semiSyncSlave: boolean;
  readonly semiSyncMasterTimeoutMs?: number;
  /** Extra [mysqld] settings; they win over the defaults (false drops a default). */
  readonly extra?: Readonly<Record<string, CnfValue>>;
  /** A directory of more option files (`!includedir`), e.g. an agent's replication filters. */
  readonly includeDir?: string;
}

/**
 * The [mysqld] settings of a lab node. Small memory, GTID replication that survives
 * failover (log_slave_updates, strict mode), durable commits (crash tests need them),
 * relative binlog names so a copied datadir still works.
 */
export function serverSettings(spec: MyCnfSpec): Map<string, CnfValue> {
  const s = new Map<string, CnfValue>([
    ["user", "root"],
    ["datadir", spec.datadir],
    ["socket", spec.socket],
    ["port", spec.port],
    ["bind_address", spec.host],
    ["pid_file", spec.pidFile],
    ["log_error", spec.errorLog],
    ["tmpdir", spec.tmpDir],
    ["skip_name_resolve", true],
    ["server_id", spec.serverId],
    ["gtid_domain_id", spec.domainId],
    ["report_host", spec.host],
    ["report_port", spec.port],
    ["log_bin", "binlog"],
    ["relay_log", "relay"],
    ["log_slave_updates", 1],
    ["gtid_strict_mode", 1],
    ["binlog_format", "ROW"],
    ["sync_binlog", 1],
    ["innodb_flush_log_at_trx_commit", 1],
    ["slave_net_timeout", 3],
    ["read_only", spec.readOnly ? 1 : 0],
    ["rpl_semi_sync_master_enabled", 0],
    ["rpl_semi_sync_slave_enabled", spec.semiSyncSlave ? 1 : 0],
    ["rpl_semi_sync_master_wait_point", "AFTER_SYNC"],
    // Marina's recommended replica setting: a semi-sync replica's STOP SLAVE waits this long
    // (default 5 -> ~2 s measured) to kill its dump thread on a frozen primary; 1 -> ~1 s.
    // Never 0: the stop then hangs.
    ["rpl_semi_sync_slave_kill_conn_timeout", 1],
    ["innodb_buffer_pool_size", "32M"],
    ["innodb_log_file_size", "16M"],
    ["innodb_log_buffer_size", "4M"],
    ["performance_schema", 0],
    ["key_buffer_size", "1M"],
    ["table_open_cache", 256],
    ["max_connections", 100],
    ["open_files_limit", 4096],
  ]);
  if (spec.semiSyncMasterTimeoutMs !== undefined) {
    s.set("rpl_semi_sync_master_timeout", spec.semiSyncMasterTimeoutMs);
  }
  for (const [k, v] of Object.entries(spec.extra ?? {})) {
    if (v === false) s.delete(k);
    else s.set(k, v);
  }
  return s;
}

/**
 * A complete defaults file. [mysqld] is read by mariadbd, mariadb-install-db and
 * mariadb-backup alike; [client] lets `mariadb --defaults-file=F` log in as root over the
 * socket.
 */
export function renderMyCnf(spec: MyCnfSpec): string {
  const lines = ["# written by @marina/lab", "[mysqld]"];
  for (const [k, v] of serverSettings(spec)) lines.push(v === true ? k : `${k}=${v}`);
  lines.push("", "[client]", `socket=${spec.socket}`, "user=root", "");
  if (spec.includeDir) lines.push(`!includedir ${spec.includeDir}`, "");
  return lines.join("\n");
}
