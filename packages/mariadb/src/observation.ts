// Pure mapping of the probe's result rows (probe-sql.ts) to the contract's
// ServerObservation: one mapping for the monitor's health samples and the executor's
// inspect step. Rows are what the mariadb connector returns (objects keyed by column name).
import type { ReplicationConnection, SemiSyncState, ServerObservation } from "@marina/contracts";
import { probeStatements } from "./probe-sql.js";
import { bool, gtidText, nonNegInt, num, type Row, text } from "./values.js";

/** The result sets of one probe, in the order probeStatements() sends them. */
export interface ProbeRows {
  readonly variables: Row;
  readonly semiSync: readonly Row[];
  readonly slaves: readonly Row[];
  readonly disks: readonly Row[];
  /** The OLDEST_TRX_SQL row, when the probe read it. */
  readonly oldestTrx?: Row | undefined;
}

const MAX_STATE = 512;
/** The contract's limit on replication connections and disks per observation. */
const MAX_ITEMS = 64;

const IO_STATES = {
  yes: "Yes",
  no: "No",
  connecting: "Connecting",
  preparing: "Preparing",
} as const;

export function ioThread(v: unknown): ReplicationConnection["ioThread"] {
  const key = text(v).trim().toLowerCase();
  return key in IO_STATES ? IO_STATES[key as keyof typeof IO_STATES] : "No";
}

export function usingGtid(v: unknown): ReplicationConnection["usingGtid"] {
  const s = text(v).trim().toLowerCase();
  if (s === "current_pos") return "Current_Pos";
  if (s === "slave_pos") return "Slave_Pos";
  return "No";
}

/**
 * One row of SHOW ALL SLAVES STATUS. `quietMs` comes from the caller's tracker (the
 * monitor's, over consecutive probes); one reading alone cannot know it: null.
 */
export function toReplicationConnection(
  row: Row,
  quietMs: number | null = null,
  withDelay = false,
): ReplicationConnection {
  const sbm = row.Seconds_Behind_Master;
  return {
    connection: text(row.Connection_name),
    masterHost: text(row.Master_Host, 255),
    masterPort: Math.min(65535, nonNegInt(row.Master_Port)),
    ioThread: ioThread(row.Slave_IO_Running),
    sqlThread: bool(row.Slave_SQL_Running),
    ioState: text(row.Slave_IO_State, MAX_STATE),
    sqlState: text(row.Slave_SQL_Running_State, MAX_STATE),
    usingGtid: usingGtid(row.Using_Gtid),
    gtidIoPos: gtidText(row.Gtid_IO_Pos),
    secondsBehindMaster: sbm === null || sbm === undefined || sbm === "" ? null : nonNegInt(sbm),
    lastIoErrno: Math.trunc(num(row.Last_IO_Errno)),
    lastIoError: text(row.Last_IO_Error),
    lastSqlErrno: Math.trunc(num(row.Last_SQL_Errno)),
    lastSqlError: text(row.Last_SQL_Error),
    heartbeatPeriodSec: Math.max(0, num(row.Slave_heartbeat_period)),
    receivedHeartbeats: nonNegInt(row.Slave_received_heartbeats),
    quietMs,
    relayLogSpace: nonNegInt(row.Relay_Log_Space),
    ...(withDelay ? { sqlDelay: nonNegInt(row.SQL_Delay) } : {}),
  };
}

/** Semi-sync rows are (name, value) pairs; a missing name means the feature is absent. */
export function toSemiSync(rows: readonly Row[]): SemiSyncState {
  const byName = new Map<string, unknown>();
  for (const r of rows) byName.set(text(r.name).toUpperCase(), r.value);
  const get = (n: string) => byName.get(n);
  return {
    masterEnabled: bool(get("RPL_SEMI_SYNC_MASTER_ENABLED")),
    masterStatus: bool(get("RPL_SEMI_SYNC_MASTER_STATUS")),
    masterClients: nonNegInt(get("RPL_SEMI_SYNC_MASTER_CLIENTS")),
    slaveEnabled: bool(get("RPL_SEMI_SYNC_SLAVE_ENABLED")),
    slaveStatus: bool(get("RPL_SEMI_SYNC_SLAVE_STATUS")),
    masterWaitPoint: text(get("RPL_SEMI_SYNC_MASTER_WAIT_POINT"), 32),
    masterTimeoutMs: Math.min(
      Number.MAX_SAFE_INTEGER,
      nonNegInt(get("RPL_SEMI_SYNC_MASTER_TIMEOUT")),
    ),
  };
}

/** information_schema.DISKS reports sizes in KiB. */
export function toDisks(rows: readonly Row[]): ServerObservation["disk"] {
  return rows.slice(0, MAX_ITEMS).map((r) => ({
    source: "information_schema.DISKS",
    path: text(r.path, 1024),
    totalBytes: nonNegInt(r.total_kb) * 1024,
    freeBytes: nonNegInt(r.available_kb) * 1024,
  }));
}

/**
 * The whole observation. `quiet` maps connection name to quietMs; a connection missing
 * from it (or every connection, without a map) gets null.
 */
export function toObservation(
  rows: ProbeRows,
  quiet: ReadonlyMap<string, number | null> = new Map(),
  /** The monitor's samples carry each connection's SQL_Delay; executors' results do not. */
  withDelay = false,
): ServerObservation {
  const v = rows.variables;
  return {
    version: text(v.version, 128),
    serverId: nonNegInt(v.server_id),
    readOnly: bool(v.read_only),
    logBin: bool(v.log_bin),
    logSlaveUpdates: bool(v.log_slave_updates),
    gtidDomainId: nonNegInt(v.gtid_domain_id),
    gtidStrictMode: bool(v.gtid_strict_mode),
    gtidBinlogPos: gtidText(v.gtid_binlog_pos),
    gtidBinlogState: gtidText(v.gtid_binlog_state),
    gtidCurrentPos: gtidText(v.gtid_current_pos),
    gtidSlavePos: gtidText(v.gtid_slave_pos),
    semiSync: toSemiSync(rows.semiSync),
    replication: rows.slaves
      .slice(0, MAX_ITEMS)
      .map((r) =>
        toReplicationConnection(r, quiet.get(text(r.Connection_name)) ?? null, withDelay),
      ),
    disk: toDisks(rows.disks),
    clientConnections: nonNegInt(v.client_connections),
    ...(rows.oldestTrx !== undefined
      ? { oldestTransactionSeconds: nonNegInt(rows.oldestTrx.oldest_trx_seconds) }
      : {}),
  };
}

function rowsOf(set: unknown): Row[] {
  return Array.isArray(set)
    ? set.filter((r): r is Row => typeof r === "object" && r !== null && !Array.isArray(r))
    : [];
}

/**
 * Splits the answer to the probe (an array of result sets, in the order probeStatements()
 * sends them) into ProbeRows. Throws when the shape is not that: a bug or a server that
 * answered something else must not become a plausible-looking observation.
 */
export function splitProbeResult(result: unknown, withDisks: boolean, withTrx = false): ProbeRows {
  const expected = 3 + (withDisks ? 1 : 0) + (withTrx ? 1 : 0);
  if (!Array.isArray(result) || result.length < expected || !result.every(Array.isArray)) {
    throw new Error(`probe returned an unexpected shape (wanted ${expected} result sets)`);
  }
  const variables = rowsOf(result[0])[0];
  if (!variables) throw new Error("probe returned no variables row");
  return {
    variables,
    semiSync: rowsOf(result[1]),
    slaves: rowsOf(result[2]),
    disks: withDisks ? rowsOf(result[3]) : [],
    oldestTrx: withTrx ? rowsOf(result[expected - 1])[0] : undefined,
  };
}

/** Reads an observation over any query function, one statement at a time (no disks). */
export async function readObservation(
  query: (sql: string) => Promise<unknown>,
): Promise<ServerObservation> {
  const sets: unknown[] = [];
  for (const sql of probeStatements(false)) sets.push(await query(sql));
  return toObservation(splitProbeResult(sets, false));
}
