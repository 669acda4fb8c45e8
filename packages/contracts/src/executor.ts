import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { ErrorBody } from "./error-body.js";
import { HookContext, HookedOperation, HookName } from "./hooks.js";
import {
  ClusterName,
  ConnectionName,
  DatabaseName,
  Epoch,
  GtidListText,
  OpId,
  ServerName,
} from "./names.js";

const timeoutMs = z.number().int().min(1).max(3_600_000);

/** A table, as a flashback and a comparison name it. */
export const TableRef = z.strictObject({
  schema: z.string().min(1).max(64),
  table: z.string().min(1).max(64),
});
export type TableRef = z.infer<typeof TableRef>;

const RowCounts = z.strictObject({
  insert: z.number().int().min(0),
  update: z.number().int().min(0),
  delete: z.number().int().min(0),
});

/** At most this many transactions are listed one by one in a verdict. */
export const UNDO_LISTED_MAX = 200;

/**
 * Whether a diverged server's extra transactions can be undone by flashback, decided per
 * transaction from the decoded events (never from today's @@binlog_format): row events only,
 * full row images, no statement or DDL event, and every extra GTID found in the binlogs.
 */
export const UndoVerdict = z.strictObject({
  undoable: z.boolean(),
  /** Why not (the first reasons), empty when undoable. */
  reason: z.string().max(4096),
  /** The extra transactions, in binlog order (the first UNDO_LISTED_MAX). */
  transactions: z
    .array(
      z.strictObject({
        gtid: z.string().max(64),
        undoable: z.boolean(),
        reason: z.string().max(1024),
        tables: z.array(TableRef).max(64),
        rows: RowCounts,
      }),
    )
    .max(UNDO_LISTED_MAX),
  /** How many transactions in all (more than listed when over UNDO_LISTED_MAX). */
  count: z.number().int().min(0),
  /** Every table the extra transactions touch, and their rows in all. */
  tables: z.array(TableRef).max(256),
  rows: RowCounts,
});
export type UndoVerdict = z.infer<typeof UndoVerdict>;

/** `app.t`: how messages name a table. */
export function tableText(t: TableRef): string {
  return `${t.schema}.${t.table}`;
}

/** `3 transactions on app.t (1 insert, 1 update, 1 delete)`: what a verdict covers. */
export function describeUndo(v: Pick<UndoVerdict, "count" | "tables" | "rows">): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return `${n(v.count, "transaction")} on ${v.tables.map(tableText).join(", ") || "no table"} (${n(v.rows.insert, "insert")}, ${n(v.rows.update, "update")}, ${n(v.rows.delete, "delete")})`;
}

/** One idempotent SQL step against one server. Running it twice has its effect once. */
export const ExecStep = z.discriminatedUnion("kind", [
  /** Read positions and replication state; changes nothing. */
  z.strictObject({ kind: z.literal("inspect") }),
  z.strictObject({ kind: z.literal("set-read-only"), readOnly: z.boolean() }),
  /**
   * Fence a server that may be a primary, in the one order that never releases a commit
   * waiting for a semi-sync ack as a success: `read_only=1` is issued (new writes block at
   * once), the clients' connections are killed while it waits for the commits in flight (a
   * killed connection never hears OK), and semi-sync master is turned off only after
   * read_only took effect. `kill`: which client connections; `none` leaves them (a writable
   * replica: nothing waits for an ack there).
   */
  z.strictObject({
    kind: z.literal("fence"),
    kill: z.enum(["all", "unprivileged", "none"]).default("all"),
    /**
     * `off` (absent: the default): semi-sync master off once nothing waits; `keep` (strict durability):
     * left as it is, so a session that writes after the fence waits for an ack for ever
     * instead of being told OK without one.
     */
    semiSync: z.enum(["off", "keep"]).optional(),
  }),
  /** Kill client connections (not replication threads, not the executor's own). */
  z.strictObject({
    kind: z.literal("kill-clients"),
    /** Also kill users with SUPER/READ_ONLY ADMIN, who write through read_only. */
    includePrivileged: z.boolean().default(true),
  }),
  z.strictObject({ kind: z.literal("stop-replication"), connection: ConnectionName }),
  /** RESET SLAVE '<connection>' ALL: forget one connection; the others stay. */
  z.strictObject({ kind: z.literal("reset-replication"), connection: ConnectionName }),
  z.strictObject({
    kind: z.literal("change-master"),
    connection: ConnectionName,
    source: ServerName,
    useGtid: z.enum(["slave_pos", "current_pos"]).default("slave_pos"),
  }),
  z.strictObject({
    kind: z.literal("start-replication"),
    connection: ConnectionName,
    /** START SLAVE UNTIL master_gtid_pos = ... */
    untilGtid: GtidListText.optional(),
  }),
  z.strictObject({ kind: z.literal("set-gtid-slave-pos"), pos: GtidListText }),
  /** MASTER_GTID_WAIT(pos, timeout). */
  z.strictObject({ kind: z.literal("wait-gtid"), pos: GtidListText, timeoutMs }),
  /** Wait until the SQL thread has applied everything the IO thread received. */
  z.strictObject({ kind: z.literal("drain-relay-log"), connection: ConnectionName, timeoutMs }),
  z.strictObject({
    kind: z.literal("set-semi-sync"),
    master: z.boolean().optional(),
    slave: z.boolean().optional(),
    /**
     * Strict durability: rpl_semi_sync_master_timeout at its maximum,
     * rpl_semi_sync_master_wait_no_slave=ON and wait point AFTER_SYNC, set before master is
     * turned on (so no commit is ever acknowledged without a replica's ack).
     */
    strict: z.boolean().optional(),
  }),
  /** Wait until gtid_binlog_pos stops changing for stableMs. */
  z.strictObject({
    kind: z.literal("wait-binlog-stable"),
    stableMs: z.number().int().min(0).max(60_000),
    timeoutMs,
  }),
  /** Wait until the connection's IO and SQL threads both run. */
  z.strictObject({ kind: z.literal("verify-replicating"), connection: ConnectionName, timeoutMs }),
  /**
   * Save a diverged server's extra transactions (clusters[].saveBinlogs): its binlog files
   * from the first one holding the fork point are dumped over the replication protocol
   * (`mariadb-binlog --read-from-remote-server --raw`) into a new folder of the configured
   * directory on the executor's host, then decoded there into SQL text from the fork point.
   * Never overwrites an earlier save. Output: BinlogSaveOutcome.
   */
  z.strictObject({
    kind: z.literal("save-binlogs"),
    /** The server's GTIDs the primary lacks (the diverged record's extraGtids). */
    extraGtids: GtidListText,
    /** Per domain, the last GTID before the extra ones ("" or a domain left out: from the first file). */
    forkPoint: GtidListText,
    timeoutMs,
  }),
  /**
   * Undo a diverged server's extra transactions with `mariadb-binlog --flashback`
   * (clusters[].saveBinlogs gives the program, the folder and the dump's server id): the
   * server must be read-only and not replicating. Its binlog files from the one holding the
   * fork point are dumped raw into a new folder (kept: the record), the transactions of the
   * (domain, server) pairs of `extraGtids` after `forkPoint` are checked one by one (row
   * events only, full row images, no statement or DDL event, every extra GTID found —
   * otherwise NOT_UNDOABLE, nothing changed), their reverse is applied with sql_log_bin=0,
   * then the binlogs are reset (RESET MASTER) and gtid_binlog_state set to what it was at the
   * fork point. gtid_slave_pos is left to the rejoin. A server already at the fork point
   * answers ok with `alreadyDone`. Output: FlashbackOutcome.
   */
  z.strictObject({
    kind: z.literal("flashback"),
    extraGtids: GtidListText,
    forkPoint: GtidListText,
    timeoutMs,
  }),
  /**
   * Compare tables of the server with the same tables of `source` (its primary) at one GTID:
   * the server's replication connection is stopped, the source's checksums are taken in a
   * consistent snapshot whose GTID position is read (binlog_snapshot_file/position), the
   * server is let replicate exactly up to it (START SLAVE UNTIL master_gtid_pos) and checked
   * (CHECKSUM TABLE), then its replication is started again. Tables that differ:
   * DATA_MISMATCH, replication left stopped. Output: TablesCompared.
   */
  z.strictObject({
    kind: z.literal("compare-tables"),
    source: ServerName,
    connection: ConnectionName,
    tables: z.array(TableRef).min(1).max(256),
    timeoutMs,
  }),
  /**
   * Per-connection database filter: `SET default_master_connection='<connection>'` then
   * `SET GLOBAL replicate_wild_do_table='db1.%,…'` while that connection is stopped (it is
   * stopped first and left stopped). Empty `databases`: no filter. Not persisted by the
   * server: see docs/operations.md, "Provisioning a multi-source replica".
   */
  z.strictObject({
    kind: z.literal("set-replication-filter"),
    connection: ConnectionName,
    databases: z.array(DatabaseName).max(64),
  }),
  /** DROP DATABASE IF EXISTS each, with sql_log_bin=0 (a replica's copy, not a change to send on). */
  z.strictObject({
    kind: z.literal("drop-databases"),
    databases: z.array(DatabaseName).min(1).max(64),
  }),
  /**
   * Replace some domains of gtid_slave_pos and keep the others: every running SQL thread is
   * stopped (`STOP SLAVE '<c>' SQL_THREAD`; IO threads keep fetching), gtid_slave_pos read
   * while they are stopped, set to (it without `domains`) + `pos` (restricted to
   * `domains`), and exactly those SQL threads started again — each attempted even when
   * another failed, on a fresh session if the first broke. The data says how long they were
   * stopped (`pausedMs`), which were started again (`restarted`) and which are not
   * (`stillStopped`), on failure too. A source added (its domains in `pos`) or removed
   * (`pos` empty) on a multi-source replica. `timeoutMs` (default 600 000) bounds the
   * statements: STOP SLAVE SQL_THREAD waits for a DDL or a large group to end.
   */
  z.strictObject({
    kind: z.literal("replace-gtid-domains"),
    domains: z.array(z.number().int().min(0).max(4294967295)).min(1).max(64),
    pos: GtidListText,
    timeoutMs: timeoutMs.optional(),
  }),
  /**
   * Run the cluster's hook `hook` as the EXECUTOR's config defines it (no shell; killed with
   * its process group at the timeout), with `context` in MARINA_* variables. Touches no
   * server: `server` only names the one the operation is about. ok only when it exited 0;
   * its output is in the data either way (HookOutcome), HOOK_FAILED otherwise.
   */
  z.strictObject({ kind: z.literal("run-hook"), hook: HookName, timeoutMs, context: HookContext }),
  /**
   * Ask the NATS veto subject of `operation` (`marina.v1.<cluster>.veto.<operation>`) and
   * collect every reply for timeoutMs. ok unless a reply vetoed (or, with `required`, none
   * came): VETOED, with the replies in the data (VetoOutcome).
   */
  z.strictObject({
    kind: z.literal("ask-veto"),
    operation: HookedOperation,
    timeoutMs,
    required: z.boolean(),
    context: HookContext,
  }),
]);

/** Steps an executor runs without a database connection (they touch no server). */
export const HOST_STEP_KINDS = ["run-hook", "ask-veto"] as const;
export type HostStepKind = (typeof HOST_STEP_KINDS)[number];

export function isHostStep(step: {
  kind: string;
}): step is Extract<ExecStep, { kind: HostStepKind }> {
  return (HOST_STEP_KINDS as readonly string[]).includes(step.kind);
}

/** What a save-binlogs step saved (its result's data). */
export const BinlogSaveOutcome = z.strictObject({
  /** The new folder on the executor's host. */
  path: z.string().max(4096),
  /** The raw binlog files saved, in order, with their sizes in bytes. */
  files: z.array(z.strictObject({ name: z.string().max(512), bytes: z.number().int().min(0) })),
  /** The decoded SQL text (a file in `path`) and its size. */
  decoded: z.strictObject({ name: z.string().max(512), bytes: z.number().int().min(0) }),
  /** `fork`: decoded from the fork point; `files`: from the first saved file (fallback). */
  decodedFrom: z.enum(["fork", "files"]),
  extraGtids: GtidListText,
  /**
   * The transactions in the decoded text: how many, and the first and the last GTID per
   * domain and server.
   */
  gtids: z.strictObject({
    count: z.number().int().min(0),
    first: GtidListText,
    last: GtidListText,
  }),
  /** The GTID position decoding started after (empty: the first saved file's start). */
  startPosition: GtidListText,
  /** False when the fork point is older than the oldest binlog left (purged): from the first. */
  complete: z.boolean(),
  executor: z.string().max(128),
  /**
   * Whether the extra transactions can be flashed back, from the saved events (absent from
   * executors of earlier releases).
   */
  undo: UndoVerdict.optional(),
});
export type BinlogSaveOutcome = z.infer<typeof BinlogSaveOutcome>;

/** What a flashback step did (its result's data; on failure, as far as it got). */
export const FlashbackOutcome = z.strictObject({
  /** The folder with the raw binlogs and the generated reverse (flashback.sql). */
  path: z.string().max(4096),
  /** The server was already at the fork point: nothing was done. */
  alreadyDone: z.boolean(),
  /** What was undone. */
  verdict: UndoVerdict,
  /** gtid_binlog_state before, and as set after RESET MASTER (the fork point's). */
  stateBefore: GtidListText,
  stateAfter: GtidListText,
  /** gtid_binlog_pos once done. */
  binlogPos: GtidListText,
  executor: z.string().max(128),
});
export type FlashbackOutcome = z.infer<typeof FlashbackOutcome>;

/** What a compare-tables step found. */
export const TablesCompared = z.strictObject({
  /** The GTID position both were compared at. */
  gtid: GtidListText,
  tables: z
    .array(
      z.strictObject({
        schema: z.string().max(64),
        table: z.string().max(64),
        /** CHECKSUM TABLE of the server and of the source (null: the table does not exist). */
        server: z.string().max(32).nullable(),
        source: z.string().max(32).nullable(),
        equal: z.boolean(),
      }),
    )
    .max(256),
  equal: z.boolean(),
});
export type TablesCompared = z.infer<typeof TablesCompared>;

export const ExecRequest = z.strictObject({
  cluster: ClusterName,
  server: ServerName,
  opId: OpId,
  stepId: z.string().min(1).max(128),
  /** Leader epoch (fencing token): executors refuse a step older than one they have seen. */
  epoch: Epoch,
  step: ExecStep,
  /**
   * Where the executor says "working on it" at once and every BEAT_INTERVAL_MS while the
   * step runs, so a caller notices a dead executor in about a second, not at the timeout.
   */
  beatTo: z
    .string()
    // `_INBOX.x` or an identity's own prefix, `_INBOX_marina_decider.x` (NATS permissions).
    .regex(/^_INBOX(_[A-Za-z0-9_]{1,64})?\.[A-Za-z0-9_.-]{1,200}$/, "must be an _INBOX subject")
    .optional(),
});

export const BEAT_INTERVAL_MS = 250;
/** A step whose executor has been silent this long is considered lost. */
export const BEAT_LOST_MS = 1500;

/** The beat an executor publishes on `beatTo`. */
export const ExecBeat = z.strictObject({
  stepId: z.string().max(128),
  executor: z.string().max(128),
});
export type ExecBeat = z.infer<typeof ExecBeat>;

export const ExecResult = z.strictObject({
  stepId: z.string().min(1).max(128),
  ok: z.boolean(),
  executor: z.string().max(128),
  durationMs: z.number().min(0),
  /** Step-specific output, e.g. positions read by `inspect`. */
  data: z.record(z.string(), z.unknown()),
  error: ErrorBody.nullable(),
});

export const ExecRequestMessage = envelopeOf("exec-request", ExecRequest);
export const ExecResultMessage = envelopeOf("exec-result", ExecResult);

export type ExecStep = z.infer<typeof ExecStep>;
export type ExecStepKind = ExecStep["kind"];
/** Steps run against a server over SQL. */
export type SqlStepKind = Exclude<ExecStepKind, HostStepKind>;
export type ExecRequest = z.infer<typeof ExecRequest>;
export type ExecResult = z.infer<typeof ExecResult>;
