// Maps what MariaDB reports to the contracts' ServerObservation / ReplicationConnection
// field names. Pure: rows in, objects out. The monitor has its own mapper; services do not
// import each other, so this one is the executor's (same field names, `quietMs` null:
// one sample cannot say how long a connection has been quiet).
import type { ReplicationConnection, SemiSyncState, ServerObservation } from "@marina/contracts";
import {
  clip,
  decimal,
  flag,
  gtidText,
  int,
  intOrNull,
  isOn,
  nameValueMap,
  type Row,
  text,
} from "./rows.js";

const IO_STATES = ["Yes", "No", "Connecting", "Preparing"] as const;
type IoState = (typeof IO_STATES)[number];

function ioState(v: string): IoState {
  return (IO_STATES as readonly string[]).includes(v) ? (v as IoState) : "No";
}

function usingGtid(v: string): ReplicationConnection["usingGtid"] {
  if (v === "Current_Pos" || v === "Slave_Pos") return v;
  return "No";
}

/** One row of SHOW ALL SLAVES STATUS. */
export function mapReplicationRow(row: Row): ReplicationConnection {
  const behind = intOrNull(row, "Seconds_Behind_Master");
  return {
    connection: text(row, "Connection_name"),
    masterHost: clip(text(row, "Master_Host"), 255),
    masterPort: Math.min(65535, Math.max(0, int(row, "Master_Port"))),
    ioThread: ioState(text(row, "Slave_IO_Running")),
    sqlThread: text(row, "Slave_SQL_Running") === "Yes",
    ioState: clip(text(row, "Slave_IO_State"), 512),
    sqlState: clip(text(row, "Slave_SQL_Running_State"), 512),
    usingGtid: usingGtid(text(row, "Using_Gtid")),
    gtidIoPos: gtidText(row, "Gtid_IO_Pos"),
    secondsBehindMaster: behind === null || behind < 0 ? null : behind,
    lastIoErrno: int(row, "Last_IO_Errno"),
    lastIoError: clip(text(row, "Last_IO_Error"), 4096),
    lastSqlErrno: int(row, "Last_SQL_Errno"),
    lastSqlError: clip(text(row, "Last_SQL_Error"), 4096),
    heartbeatPeriodSec: Math.max(0, decimal(row, "Slave_heartbeat_period")),
    receivedHeartbeats: Math.max(0, int(row, "Slave_received_heartbeats")),
    quietMs: null,
    relayLogSpace: Math.max(0, int(row, "Relay_Log_Space")),
  };
}

/** True when the IO thread runs or is trying to (Connecting/Preparing count as running). */
export function ioRunning(c: ReplicationConnection): boolean {
  return c.ioThread !== "No";
}

/** Either thread is running: the connection must be stopped before it can be changed. */
export function anyThreadRunning(c: ReplicationConnection): boolean {
  return ioRunning(c) || c.sqlThread;
}

/** `SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'` + `SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'`. */
export function mapSemiSync(variables: readonly Row[], status: readonly Row[]): SemiSyncState {
  const v = nameValueMap(variables);
  const s = nameValueMap(status);
  const n = (m: Map<string, string>, k: string) => {
    const x = Number(m.get(k) ?? "0");
    return Number.isFinite(x) && x >= 0 ? Math.trunc(x) : 0;
  };
  return {
    masterEnabled: isOn(v.get("rpl_semi_sync_master_enabled")),
    masterStatus: isOn(s.get("rpl_semi_sync_master_status")),
    masterClients: n(s, "rpl_semi_sync_master_clients"),
    slaveEnabled: isOn(v.get("rpl_semi_sync_slave_enabled")),
    slaveStatus: isOn(s.get("rpl_semi_sync_slave_status")),
    masterWaitPoint: clip(v.get("rpl_semi_sync_master_wait_point") ?? "", 32),
    masterTimeoutMs: n(v, "rpl_semi_sync_master_timeout"),
  };
}

export interface ObservationRows {
  /** The row of SELECT_SERVER_STATE. */
  readonly state: Row;
  readonly semiSyncVariables: readonly Row[];
  readonly semiSyncStatus: readonly Row[];
  readonly slaves: readonly Row[];
  readonly clientConnections: number;
}

export function mapObservation(r: ObservationRows): ServerObservation {
  const s = r.state;
  return {
    version: clip(text(s, "version"), 128),
    serverId: Math.max(0, int(s, "server_id")),
    readOnly: flag(s, "read_only"),
    logBin: flag(s, "log_bin"),
    logSlaveUpdates: flag(s, "log_slave_updates"),
    gtidDomainId: Math.max(0, int(s, "gtid_domain_id")),
    gtidStrictMode: flag(s, "gtid_strict_mode"),
    gtidBinlogPos: gtidText(s, "gtid_binlog_pos"),
    gtidBinlogState: gtidText(s, "gtid_binlog_state"),
    gtidCurrentPos: gtidText(s, "gtid_current_pos"),
    gtidSlavePos: gtidText(s, "gtid_slave_pos"),
    semiSync: mapSemiSync(r.semiSyncVariables, r.semiSyncStatus),
    replication: r.slaves.map(mapReplicationRow),
    // The executor reads no disk figures; the monitor reports them.
    disk: [],
    clientConnections: r.clientConnections,
  };
}
