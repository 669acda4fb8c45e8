import { z } from "zod";
import { Compression } from "./compression.js";
import { envelopeOf } from "./envelope.js";
import { ErrorBody } from "./error-body.js";
import {
  Address,
  BackupId,
  BackupKeep,
  BackupOlderThanDays,
  ClusterName,
  ConnectionName,
  DatabaseName,
  Epoch,
  GtidListText,
  HostName,
  OpId,
  Port,
  ServerName,
} from "./names.js";

const transfer = {
  server: ServerName,
  compression: Compression.default({ kind: "none" }),
  tls: z.boolean().default(false),
  /**
   * `physical` (absent: the default) streams mariadb-backup; `logical` streams
   * mariadb-dump into the running target, loaded with sql_log_bin=0.
   */
  method: z.enum(["physical", "logical"]).optional(),
  /**
   * Logical only. Donor: dump just these databases (no `mysql` schema, so no accounts) instead
   * of all of them. Absent: all.
   */
  databases: z.array(DatabaseName).min(1).max(64).optional(),
  /**
   * Logical target only: load on top of what the server holds — no wipe, replication kept
   * (a multi-source provisioning's later sources). Absent/false: the wipe first.
   */
  keep: z.boolean().optional(),
  /**
   * Logical only: a source ADDED to a multi-source replica that replicates already. Donor:
   * `--master-data=2` (the position is only a comment: no `SET GLOBAL gtid_slave_pos`,
   * which fails while an SQL thread runs and would overwrite the other domains). Target:
   * loads on top while its connections run, and reads the position from the dump's
   * `-- SET GLOBAL gtid_slave_pos='…'` comment as it streams by. Local hosts only.
   */
  addSource: z.boolean().optional(),
};

/** Actions on `marina.v1.agent.<host>.<action>`; arguments are data, never shell text. */
export const AgentAction = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("status") }),
  z.strictObject({ action: z.literal("stop-server"), server: ServerName }),
  z.strictObject({ action: z.literal("start-server"), server: ServerName }),
  /**
   * STONITH: SIGKILL the server's mariadbd (works on a frozen, SIGSTOPped process, which no
   * SQL fence reaches), and wait until it is gone. Its supervisor (systemd) may restart it:
   * with read_only=ON in its my.cnf it comes back read-only. Local hosts only.
   */
  z.strictObject({ action: z.literal("kill-server"), server: ServerName }),
  /** Donor: stream a backup (physical, or a logical dump) of `server` to a receiver already listening. */
  z.strictObject({
    action: z.literal("send-backup"),
    ...transfer,
    to: z.strictObject({ address: Address, port: Port }),
  }),
  /**
   * Target: stop `server`, empty its datadir, listen, extract, prepare, start. Logical:
   * the server keeps running; its user databases, binlogs and replication are wiped, then
   * the dump is loaded.
   */
  z.strictObject({
    action: z.literal("receive-backup"),
    ...transfer,
    port: Port.optional(),
  }),
  z.strictObject({ action: z.literal("cancel"), opId: OpId }),
  /**
   * Read what provisioning a multi-source replica checks (changes nothing): binlog, ids, the
   * user databases, the tables of `databases` (all user databases when absent) that are not
   * InnoDB, whether `replicationUser` exists, replication connections. Read with the agent's
   * backup account, which sees every database it would dump. Not fenced. Output:
   * ProvisionFacts.
   */
  z.strictObject({
    action: z.literal("provision-facts"),
    server: ServerName,
    databases: z.array(DatabaseName).max(64).optional(),
    replicationUser: z.string().min(1).max(80),
  }),
  /**
   * Write the server's replication connections' filters (`Replicate_Wild_Do_Table`, as the
   * server has them now) into the Marina-owned option file the agent config names for it
   * (`replicationFiltersFile`, read by the server's my.cnf through `!includedir`/`!include`)
   * as `<connection>.replicate_wild_do_table = …`, so a restart keeps them. Takes no
   * filter text from the request.
   */
  z.strictObject({ action: z.literal("persist-replication-filters"), server: ServerName }),
  /**
   * A mariadb-backup of `server` into a new `<backupDir>/<server>/<id>/data`, with
   * `manifest.json` beside it (BackupManifest). Every running replication SQL thread is
   * stopped for the backup and started again after it (the IO threads keep fetching).
   * `sources`: the configured servers a connection may point at, to name each connection's
   * source cluster in the manifest. Local hosts only. `limitMs` bounds the whole action: the
   * agent answers within it (plus the restart of the SQL threads), the decider waits for it.
   */
  z.strictObject({
    action: z.literal("take-backup"),
    server: ServerName,
    limitMs: z.number().int().min(1000).max(604_800_000),
    sources: z
      .array(
        z.strictObject({
          cluster: ClusterName,
          server: ServerName,
          host: Address,
          port: Port,
        }),
      )
      .max(256),
  }),
  /** The manifests of `server`'s backups (one when `id` is given). Not fenced. */
  z.strictObject({
    action: z.literal("list-backups"),
    server: ServerName,
    id: BackupId.optional(),
  }),
  /**
   * Replace `server`'s datadir with backup `id`: stop, empty (a marker records the
   * unfinished restore), copy, `--prepare`, chown, start, `read_only=1`. The saved backup is
   * not changed. `limitMs` bounds the whole action (each phase gets what is left of it).
   */
  z.strictObject({
    action: z.literal("restore-backup"),
    server: ServerName,
    id: BackupId,
    limitMs: z.number().int().min(1000).max(604_800_000),
  }),
  /**
   * Retention of `server`'s backups on this host: the newest `keep` complete ones (with a
   * valid manifest) stay; every other directory under `<backupDir>/<server>/` named like a
   * backup id is deleted (with `olderThanDays`, only those older) — a symlink or anything else
   * is left alone and never followed. Refused while another action runs on the server.
   * `dryRun`: the same answer, nothing deleted. Output: BackupPruneResult.
   */
  z.strictObject({
    action: z.literal("prune-backups"),
    server: ServerName,
    keep: BackupKeep,
    olderThanDays: BackupOlderThanDays.optional(),
    dryRun: z.boolean(),
  }),
]);

/** One directory a prune looked at. */
export const BackupPruneEntry = z.strictObject({
  id: z.string().max(255),
  /** A backup with a valid manifest (false: a leftover without one, or not a backup). */
  complete: z.boolean(),
  /** When it began (from its id); null when the name is not a backup id. */
  startedAt: z.string().max(64).nullable(),
  /** Bytes of its files (symlinks not followed). */
  bytes: z.number().int().min(0),
  /** Why it is deleted, kept or skipped. */
  why: z.string().max(512),
});
export type BackupPruneEntry = z.infer<typeof BackupPruneEntry>;

/** What prune-backups deleted (or, dry-run, would delete), kept and left alone. */
export const BackupPruneResult = z.strictObject({
  server: ServerName,
  dryRun: z.boolean(),
  deleted: z.array(BackupPruneEntry).max(10_000),
  kept: z.array(BackupPruneEntry).max(10_000),
  /** Entries that are not backups Marina may delete (symlinks, files, bad manifests). */
  skipped: z.array(BackupPruneEntry).max(10_000),
  /** Bytes of what was (would be) deleted. */
  bytesFreed: z.number().int().min(0),
});
export type BackupPruneResult = z.infer<typeof BackupPruneResult>;

/** One replication connection as a backup's manifest records it. */
export const BackupConnection = z.strictObject({
  name: ConnectionName,
  /** The source cluster whose primary it followed (null: none of the configured servers). */
  cluster: ClusterName.nullable(),
  /** The configured server it pointed at (null: unknown). */
  source: ServerName.nullable(),
  masterHost: z.string().max(255),
  masterPort: z.number().int().min(0).max(65535),
  /** Replicate_Wild_Do_Table, split on commas ([]: no filter). */
  wildDoTables: z.array(z.string().max(200)).max(256),
  /** Whether its SQL thread ran when the backup began (it was stopped for it, then started). */
  sqlRunning: z.boolean(),
  ioRunning: z.boolean(),
  /** Gtid_IO_Pos when the backup began (what it had fetched; informative). */
  gtidIoPos: z.string().max(65536),
});
export type BackupConnection = z.infer<typeof BackupConnection>;

/** `manifest.json` beside a backup's `data/`. */
export const BackupManifest = z.strictObject({
  version: z.literal(1),
  id: BackupId,
  server: ServerName,
  /** When the backup began and ended (ISO). */
  startedAt: z.string().max(64),
  endedAt: z.string().max(64),
  /** gtid_slave_pos while every SQL thread was stopped: the backup's position. */
  gtidSlavePos: GtidListText,
  /** The backup's gtid_slave_pos per GTID domain (`domain` → `domain-server-seq`). */
  domains: z.record(z.string().max(12), z.string().max(64)),
  /** gtid_binlog_pos mariadb-backup recorded (xtrabackup_binlog_info). */
  gtidBinlogPos: z.string().max(65536),
  connections: z.array(BackupConnection).max(64),
  /** Bytes of the backup's files. */
  bytes: z.number().int().min(0),
  /** What mariadb-backup's own xtrabackup_slave_info says (a cross-check). */
  slaveInfo: z.string().max(65536),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** What a provision-facts request read (its result's data). */
export const ProvisionFacts = z.strictObject({
  logBin: z.boolean(),
  /** @@binlog_format: ROW, MIXED or STATEMENT. */
  binlogFormat: z.string().max(16),
  serverId: z.number().int().min(0),
  gtidDomainId: z.number().int().min(0),
  gtidBinlogPos: GtidListText,
  /** @@lower_case_table_names: 1 or 2, database names compare case-insensitively (absent from older agents). */
  lowerCaseTableNames: z.number().int().min(0).max(2).optional(),
  /** @@gtid_slave_pos (absent from older agents). */
  gtidSlavePos: GtidListText.optional(),
  readOnly: z.boolean(),
  /** Databases other than mysql, information_schema, performance_schema and sys. */
  databases: z.array(z.string().max(64)).max(4096),
  /** Tables of the databases asked for whose engine is not InnoDB (views excluded). */
  nonInnodb: z
    .array(z.strictObject({ table: z.string().max(130), engine: z.string().max(64) }))
    .max(4096),
  /**
   * The configured replication account exists on the server (in mysql.user); null when the
   * executor's account may not read mysql.user (then the attach's verify is the check).
   */
  replicationAccount: z.boolean().nullable(),
  /**
   * Replication connections by name, with whether any of its threads runs and its
   * Replicate_Wild_Do_Table (absent from older agents).
   */
  connections: z
    .array(
      z.strictObject({
        name: z.string().max(64),
        running: z.boolean(),
        /** Whether its SQL thread runs (absent from older agents). */
        sqlRunning: z.boolean().optional(),
        wildDoTable: z.string().max(8192).optional(),
      }),
    )
    .max(64),
});
export type ProvisionFacts = z.infer<typeof ProvisionFacts>;

export const AgentRequest = z.strictObject({
  host: HostName,
  opId: OpId,
  epoch: Epoch,
  request: AgentAction,
});

export const AgentResult = z.strictObject({
  host: HostName,
  opId: OpId,
  ok: z.boolean(),
  durationMs: z.number().min(0),
  data: z.record(z.string(), z.unknown()),
  error: ErrorBody.nullable(),
});

export const AgentHeartbeat = z.strictObject({
  host: HostName,
  agentVersion: z.string().max(64),
  uptimeMs: z.number().int().min(0),
  servers: z.array(
    z.strictObject({
      name: ServerName,
      datadir: z.string().max(1024),
      mariadbdRunning: z.boolean(),
      pid: z.number().int().min(1).nullable(),
    }),
  ),
  /** Program versions found on the host; null when missing. */
  tools: z.record(z.string().max(64), z.string().max(256).nullable()),
  busy: z.array(OpId),
});

/** Named phases of a long agent action (send-backup, receive-backup). */
export const AgentPhase = z.enum([
  "guard",
  "stop",
  "empty",
  "wipe",
  "listening",
  "connecting",
  "streaming",
  "prepare",
  "chown",
  "start",
  "restore-replication",
  "backup",
  "copy",
  "prune",
  "done",
  "failed",
  "cancelled",
]);

/**
 * Progress of a running transfer, on `marina.v1.agent.<host>.progress`. Long actions reply
 * at once (listening / connected) and publish their final AgentResult on `.done`.
 */
export const AgentProgress = z.strictObject({
  host: HostName,
  opId: OpId,
  server: ServerName,
  action: z.enum(["send-backup", "receive-backup"]),
  phase: AgentPhase,
  bytes: z.number().min(0),
  /** Donor's estimate (its datadir size); null when unknown (the receiver). */
  totalBytes: z.number().min(0).nullable(),
  bytesPerSecond: z.number().min(0),
  etaMs: z.number().min(0).nullable(),
  elapsedMs: z.number().min(0),
});

export const AgentProgressMessage = envelopeOf("agent-progress", AgentProgress);
export const AgentRequestMessage = envelopeOf("agent-request", AgentRequest);
export const AgentResultMessage = envelopeOf("agent-result", AgentResult);
export const AgentHeartbeatMessage = envelopeOf("agent-heartbeat", AgentHeartbeat);

export type AgentAction = z.infer<typeof AgentAction>;
export type AgentRequest = z.infer<typeof AgentRequest>;
export type AgentResult = z.infer<typeof AgentResult>;
export type AgentHeartbeat = z.infer<typeof AgentHeartbeat>;
export type AgentProgress = z.infer<typeof AgentProgress>;
export type AgentPhase = z.infer<typeof AgentPhase>;
