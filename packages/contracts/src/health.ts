import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { Address, ClusterName, ConnectionName, GtidListText, Port, ServerName } from "./names.js";

/** IO thread state as SHOW SLAVE STATUS reports it (Slave_IO_Running). */
export const IoThreadState = z.enum(["Yes", "No", "Connecting", "Preparing"]);

/** One row of SHOW ALL SLAVES STATUS. */
export const ReplicationConnection = z.strictObject({
  connection: ConnectionName,
  masterHost: z.string().max(255),
  masterPort: z.number().int().min(0).max(65535),
  ioThread: IoThreadState,
  sqlThread: z.boolean(),
  ioState: z.string().max(512),
  sqlState: z.string().max(512),
  usingGtid: z.enum(["No", "Current_Pos", "Slave_Pos"]),
  gtidIoPos: GtidListText,
  secondsBehindMaster: z.number().int().min(0).nullable(),
  lastIoErrno: z.number().int(),
  lastIoError: z.string().max(4096),
  lastSqlErrno: z.number().int(),
  lastSqlError: z.string().max(4096),
  heartbeatPeriodSec: z.number().min(0),
  receivedHeartbeats: z.number().int().min(0),
  /**
   * Milliseconds since this monitor last saw the connection hear from its primary: the IO
   * position or the heartbeat counter moved. Heartbeats alone are not enough (MariaDB sends
   * them only when idle). Null until two samples were compared.
   */
  quietMs: z.number().int().min(0).nullable(),
  relayLogSpace: z.number().int().min(0),
  /**
   * SQL_Delay: the connection's MASTER_DELAY in seconds (a delayed replica). Sent by
   * monitors only (a decider of the previous release refuses it in an executor's result);
   * absent from a monitor of the previous release.
   */
  sqlDelay: z.number().int().min(0).optional(),
});

export const SemiSyncState = z.strictObject({
  masterEnabled: z.boolean(),
  masterStatus: z.boolean(),
  masterClients: z.number().int().min(0),
  slaveEnabled: z.boolean(),
  slaveStatus: z.boolean(),
  masterWaitPoint: z.string().max(32),
  /** Clamped to Number.MAX_SAFE_INTEGER (the server's maximum is 2^64-1). */
  masterTimeoutMs: z.number().int().min(0),
});

/**
 * Semi-sync settings that never fall back to async, as far as a sample shows them: the
 * timeout at its maximum (2^64-1 ms, seen clamped to Number.MAX_SAFE_INTEGER) and the wait
 * point AFTER_SYNC. (`rpl_semi_sync_master_wait_no_slave` is not in the sample — a new
 * field would be refused by the previous release's deciders — and is set by every strict
 * step instead.)
 */
export function semiSyncIsStrict(s: SemiSyncState): boolean {
  return (
    s.masterTimeoutMs >= Number.MAX_SAFE_INTEGER && s.masterWaitPoint.toUpperCase() === "AFTER_SYNC"
  );
}

export const DiskState = z.strictObject({
  /** Where the figure comes from (e.g. information_schema.DISKS). */
  source: z.string().max(64),
  path: z.string().max(1024),
  totalBytes: z.number().min(0),
  freeBytes: z.number().min(0),
});

/** What a reachable server reported. */
export const ServerObservation = z.strictObject({
  version: z.string().max(128),
  serverId: z.number().int().min(0),
  readOnly: z.boolean(),
  logBin: z.boolean(),
  logSlaveUpdates: z.boolean(),
  gtidDomainId: z.number().int().min(0),
  gtidStrictMode: z.boolean(),
  gtidBinlogPos: GtidListText,
  gtidBinlogState: GtidListText,
  gtidCurrentPos: GtidListText,
  gtidSlavePos: GtidListText,
  semiSync: SemiSyncState,
  replication: z.array(ReplicationConnection).max(64),
  disk: z.array(DiskState).max(64),
  /** Client connections other than system and replication threads. */
  clientConnections: z.number().int().min(0),
  /**
   * Seconds since the oldest InnoDB transaction still open started
   * (information_schema.INNODB_TRX); 0 with none open; null when the monitor could not read
   * it. Optional: monitors of earlier releases leave it out, and it is sent only by monitors
   * upgraded after every decider (an earlier decider refuses a sample with a field it does
   * not know: docs/operations.md, "Rolling upgrades").
   */
  oldestTransactionSeconds: z.number().int().min(0).nullable().optional(),
});

export const HealthSample = z.strictObject({
  cluster: ClusterName,
  server: ServerName,
  /** Which monitor saw this: several may watch the same cluster. */
  monitor: z.string().min(1).max(128),
  address: z.strictObject({ host: Address, port: Port }),
  /** Probe number of this monitor for this server (monotonic). */
  probe: z.number().int().min(0),
  reachable: z.boolean(),
  latencyMs: z.number().min(0).nullable(),
  consecutiveFailures: z.number().int().min(0),
  /** Milliseconds since the last successful probe; null when never reached. */
  sinceLastSuccessMs: z.number().int().min(0).nullable(),
  error: z
    .strictObject({
      code: z.string().max(64),
      message: z.string().max(4096),
      /** Refused or dropped connections are reported at once; a timeout after it elapsed. */
      kind: z.enum(["refused", "dropped", "timeout", "auth", "sql", "other"]),
    })
    .nullable(),
  observation: ServerObservation.nullable(),
});

export const HealthMessage = envelopeOf("health", HealthSample);

export type ReplicationConnection = z.infer<typeof ReplicationConnection>;
export type SemiSyncState = z.infer<typeof SemiSyncState>;
export type ServerObservation = z.infer<typeof ServerObservation>;
export type HealthSample = z.infer<typeof HealthSample>;
export type HealthMessage = z.infer<typeof HealthMessage>;
