// Every error Marina reports has a stable code from this table. docs/errors.md lists them.
export const ErrorCodes = {
  BAD_JSON: { retryable: false, text: "the message is not valid JSON" },
  VALIDATION_FAILED: { retryable: false, text: "a field is missing or has a bad value" },
  UNKNOWN_COMMAND: { retryable: false, text: "no such command verb" },
  UNKNOWN_CLUSTER: { retryable: false, text: "the cluster is not configured" },
  UNKNOWN_SERVER: { retryable: false, text: "the server is not part of the cluster" },
  GTID_PARSE: { retryable: false, text: "a GTID list is malformed" },
  NOT_LEADER: { retryable: true, text: "this decider does not hold the leader lease" },
  STALE_EPOCH: {
    retryable: false,
    text: "the request carries an epoch older than the current leader's",
  },
  FUTURE_EPOCH: {
    retryable: true,
    text: "the request carries an epoch newer than the leader lease shows (not yet visible, or forged); nothing was done",
  },
  LEASE_UNAVAILABLE: {
    retryable: true,
    text: "the leader lease could not be read, or no decider holds it (absent or expired); nothing was done",
  },
  OPERATION_IN_PROGRESS: { retryable: true, text: "another operation is running on the cluster" },
  NOT_CONFIRMED: {
    retryable: true,
    text: "servers changed by the last operation have not been observed since; retry in a moment",
  },
  COOLDOWN: { retryable: true, text: "a failover happened too recently" },
  FAILOVER_LIMIT: { retryable: true, text: "too many failovers in the window" },
  NO_CANDIDATE: { retryable: true, text: "no server is eligible for promotion" },
  ACKNOWLEDGER_UNSETTLED: {
    retryable: true,
    text: "a replica Marina cannot reach or detach may still acknowledge the failed primary's writes, and that primary is not known stopped or fenced: promoting would let two servers acknowledge writes",
  },
  WOULD_LOSE_WRITES: {
    retryable: true,
    text: "every server went down and the candidate lacks transactions the last primary was seen to have: waiting for the last primary (a failover with acceptLoss promotes anyway)",
  },
  TARGET_NOT_ELIGIBLE: { retryable: false, text: "the requested target cannot be promoted" },
  TARGET_IN_MAINTENANCE: {
    retryable: false,
    text: "switchover pre-check: the target is in maintenance (force overrides)",
  },
  TARGET_NEVER_PROMOTE: {
    retryable: false,
    text: "switchover pre-check: the target has neverPromote set (force overrides)",
  },
  TARGET_LAGGING: {
    retryable: true,
    text: "switchover pre-check: the target lags beyond switchover.maxLagSeconds (force overrides)",
  },
  LONG_TRANSACTION: {
    retryable: true,
    text: "switchover pre-check: the primary runs a transaction older than switchover.maxTransactionSeconds, which the demotion's fence would kill (force overrides)",
  },
  REPLICAS_WITHOUT_SOURCE: {
    retryable: false,
    text: "switchover pre-check: replicas the switchover would not repoint would be left without a source (force overrides)",
  },

  PROVISION_CHECK_FAILED: {
    retryable: false,
    text: "provision-replica pre-check: a source or the target is not fit (the message names each problem and its fix); nothing was changed",
  },
  BACKUP_NOT_FOUND: {
    retryable: false,
    text: "restore-backup / backups: no backup with that id for the server on its host (list them with marina backups)",
  },
  RESTORE_CHECK_FAILED: {
    retryable: false,
    text: "restore-backup pre-check: the backup's connections cannot be re-attached now (the message names each problem and its fix); nothing was changed",
  },
  RESTORE_INCOMPLETE: {
    retryable: false,
    text: "restore-backup: the datadir was replaced but the server could not be re-attached (the message says what was done); it stays read-only, in maintenance",
  },
  REPLICATION_STOPPED: {
    retryable: false,
    text: "backup: replication SQL threads the agent stopped could not be started again (the message names them); the server stays in maintenance",
  },
  PRIMARY_ALIVE: { retryable: false, text: "the primary is healthy; use switchover" },
  NOT_APPLICABLE: { retryable: false, text: "the command does not apply to the server's state" },
  SERVER_UNREACHABLE: { retryable: true, text: "the server could not be reached" },
  SQL_ERROR: { retryable: false, text: "the server returned an error" },
  MISSING_PRIVILEGE: {
    retryable: false,
    text: "the MariaDB account lacks a privilege the statement needs (see docs/security.md)",
  },
  TIMEOUT: { retryable: true, text: "the step did not finish in time" },
  EXECUTOR_LOST: {
    retryable: true,
    text: "the executor that took the step fell silent or answered nonsense; safe to send again",
  },
  STEP_NOT_TAKEN: {
    retryable: true,
    text: "no executor took the step (none reachable: it never started); sent again",
  },
  CANCELLED: { retryable: false, text: "the operation was cancelled" },
  REFUSED: { retryable: false, text: "the request is not allowed" },
  UNSUPPORTED_FORMAT: {
    retryable: false,
    text: "a persisted record (the decider state in KV) is of a format this release cannot read: written by a newer release; left as it is, and this decider does not lead the cluster",
  },
  HOOK_FAILED: {
    retryable: false,
    text: "a hook (clusters[].hooks) did not exit 0 in time: exited non-zero, was killed at its timeout, or could not start",
  },
  VETOED: {
    retryable: false,
    text: "a hook or a reply on the veto subject blocked the operation before it changed anything",
  },
  TOOL_FAILED: {
    retryable: false,
    text: "a program run by the agent (or by an executor: mariadb-binlog) failed",
  },
  NOT_UNDOABLE: {
    retryable: false,
    text: "a diverged server's extra transactions cannot be undone by flashback (statement or DDL events, partial row images, binlogs missing): rebuild it",
  },
  DATA_MISMATCH: {
    retryable: false,
    text: "tables differ from the primary's at the same GTID position",
  },
  UNAUTHORIZED: {
    retryable: false,
    text: "the HTTP API request has no bearer token, or one the decider does not know",
  },
  NOT_FOUND: {
    retryable: false,
    text: "no such HTTP API route, operation or history record",
  },
  INTERNAL: { retryable: true, text: "an unexpected internal error" },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;
export const errorCodeList = Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]];

export class MarinaError extends Error {
  override readonly name: string = "MarinaError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Path of the offending field, for validation errors (e.g. `payload.target`). */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; path?: string } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryable = ErrorCodes[code].retryable;
    this.path = opts.path;
  }
}
