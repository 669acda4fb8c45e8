// @marina/mariadb: one way to talk to MariaDB — the connector with strict timeouts, the
// driver-error table, and the probe that reads a server into a ServerObservation.
export {
  BACKUP_NEEDS,
  BINLOG_SAVE_NEEDS,
  EXECUTOR_NEEDS,
  FLASHBACK_NEEDS,
  flashbackTableNeeds,
  MONITOR_NEEDS,
  SELF_FENCE_NEEDS,
} from "./account-needs.js";
export {
  type Connector,
  closeConnection,
  connectMariadb,
  type DbConnection,
  type DbTarget,
  type DbTls,
} from "./connect.js";
export {
  classifyDriverError,
  type DriverFailure,
  errnoOf,
  FAILURES_BY_CODE,
  FAILURES_BY_ERRNO,
  type FailureKind,
  type FailureRule,
  isServerErrno,
  marinaErrorOf,
  PROBE_TIMEOUT,
  type ProbeError,
  probeErrorOf,
} from "./errors.js";
export {
  clientKiller,
  type FenceSql,
  type KillOptions,
  type KillRound,
  killClientConnections,
  killConnection,
  readOnlyKilling,
  SELECT_CONNECTION_ID,
  SELECT_PRIVILEGED_GRANTEES,
  SELECT_THREADS,
  setReadOnly,
  uniqueKilled,
} from "./fence/kill-rounds.js";
export {
  granteeUser,
  type KeepReason,
  keepReason,
  killOrder,
  mapThread,
  partitionThreads,
  privilegedUserNames,
  type ThreadFilter,
  type ThreadInfo,
  waitsForAck,
} from "./fence/threads.js";
export {
  ALL_PRIVILEGES,
  accountLiteral,
  canonicalPrivilege,
  type GrantScope,
  type GrantSet,
  grantStatements,
  type MissingPrivilege,
  missingPrivileges,
  type PrivilegeNeed,
  parseGrants,
  satisfies,
} from "./grants.js";
export {
  ioThread,
  type ProbeRows,
  readObservation,
  splitProbeResult,
  toDisks,
  toObservation,
  toReplicationConnection,
  toSemiSync,
  usingGtid,
} from "./observation.js";
export {
  type CheckLog,
  checkPrivileges,
  describeMissing,
  type GrantsReading,
  type PrivilegeCheckResult,
  type PrivilegeCheckTarget,
  type PrivilegeReport,
  privilegeReport,
  readGrants,
  readGrantsAt,
} from "./privilege-check.js";
export { DISKS_SQL, OLDEST_TRX_SQL, probeSql, probeStatements } from "./probe-sql.js";
export { bool, gtidText, nonNegInt, num, type Row, text } from "./values.js";
