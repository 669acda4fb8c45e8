import { z } from "zod";
import { Compression } from "./compression.js";
import { DryRunReport } from "./dry-run.js";
import { envelopeOf } from "./envelope.js";
import { ErrorBody, VERB_MAX } from "./error-body.js";
import {
  BackupId,
  BackupKeep,
  BackupOlderThanDays,
  ClusterName,
  DatabaseName,
  OpId,
  ServerName,
} from "./names.js";
import { retired } from "./retired.js";
import type { CommandVerb } from "./subjects.js";

export { Compression } from "./compression.js";
export {
  ERROR_MESSAGE_MAX,
  ERROR_PATH_MAX,
  ErrorBody,
  VERB_MAX,
} from "./error-body.js";

const reason = z.string().max(1024).optional();
/** Who asks, as the requester states it (the `marina` CLI sends `user@host`); for the record only. */
const requestedBy = z.string().min(1).max(256).optional();
/**
 * Answer with what the command would do now (the refusal, or the plan: docs/cli.md,
 * "Dry-run") and change nothing. Optional, so a request without it is as before; a decider
 * of an earlier release refuses it (VALIDATION_FAILED at `dryRun`) and does nothing either.
 */
const dryRun = z.boolean().optional();

/** Payloads of commands on `marina.v1.<cluster>.cmd.<verb>`. All fields a person can type. */
export const CommandPayloads = {
  failover: z.strictObject({
    /** Promote this server; otherwise the best candidate. */
    target: ServerName.optional(),
    /** Fail over even when the primary looks alive to the monitor (it is fenced first). */
    force: z.boolean().default(false),
    /**
     * After every server went down: promote even a server lacking transactions the last
     * primary was seen to have (they are lost; the dry-run names them).
     */
    acceptLoss: z.boolean().default(false),
    reason,
    dryRun,
  }),
  switchover: z.strictObject({
    target: ServerName.optional(),
    /**
     * Skip the pre-checks (a target in maintenance, never-promote or lagging, replicas left
     * without a source, a long transaction on the primary), and kill all client connections
     * of the primary — privileged ones too — instead of waiting for them (a stuck primary).
     */
    force: z.boolean().default(false),
    /** Per-phase timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    reason,
    dryRun,
  }),
  rejoin: z.strictObject({ server: ServerName, reason, dryRun }),
  rebuild: z.strictObject({
    target: ServerName,
    source: ServerName.optional(),
    method: z.enum(["physical", "logical"]).default("physical"),
    /** Removed: every rebuild goes through the agents named by the servers' agentHost. */
    transport: retired(
      "removed: SSH hosts are served by an agent now (the agent config's servers[].ssh); a rebuild always goes through the agents named by the target's and the source's agentHost, see docs/operations.md#rebuild",
    ),
    compression: Compression.default({ kind: "none" }),
    tls: z.boolean().default(false),
    reason,
    dryRun,
  }),
  /**
   * Undo a diverged server's extra transactions (mariadb-binlog --flashback), bring its GTID
   * state back to the fork point, rejoin it and compare the tables it touched with the
   * primary's. Refused when they cannot be undone (statement or DDL events, partial row
   * images, binlogs missing: NOT_UNDOABLE, with the reason) or are not saved yet.
   */
  flashback: z.strictObject({ server: ServerName, reason, dryRun }),
  "set-maintenance": z.strictObject({ server: ServerName, reason, dryRun }),
  "clear-maintenance": z.strictObject({ server: ServerName, reason, dryRun }),
  "reset-failover-limits": z.strictObject({ reason, dryRun }),
  cancel: z.strictObject({ opId: OpId, reason, dryRun }),
  status: z.strictObject({}),
  /** Stop starting anything automatically (failover, rejoin, fences, ...); commands still run. */
  pause: z.strictObject({ reason, requestedBy, dryRun }),
  resume: z.strictObject({ reason, requestedBy, dryRun }),
  /**
   * Make `target` a multi-source replica of each source cluster's primary, without stopping
   * writes there: one consistent dump per source, loaded without binlogging, one named
   * replication connection per source (docs/operations.md, "Provisioning a multi-source
   * replica"). Sent to the cluster the target belongs to (its agent's `cluster`).
   */
  "provision-replica": z.strictObject({
    target: ServerName,
    sources: z
      .array(
        z.strictObject({
          /** The source cluster; its current primary is the source, its name the connection's. */
          cluster: ClusterName,
          /** The databases to take; absent: every database but the system schemas. */
          databases: z.array(DatabaseName).min(1).max(64).optional(),
        }),
      )
      .min(1)
      .max(8),
    /** Wipe what the target holds (its user databases and replication) instead of refusing. */
    overwrite: z.boolean().default(false),
    /**
     * `provision` (default): build the replica from all `sources`. `add`: attach ONE more
     * source to a replica that replicates already (its other connections keep running).
     * `remove`: detach ONE source (`RESET SLAVE '<cluster>' ALL`). `restart`: stop and start
     * ONE source's connection and verify it (a broken one whose cause is fixed).
     */
    mode: z.enum(["provision", "add", "remove", "restart"]).default("provision"),
    /** `remove` only: also drop the databases the removed source's connection took. */
    dropDatabases: z.boolean().default(false),
    compression: Compression.default({ kind: "none" }),
    reason,
    dryRun,
  }),
  /**
   * A physical backup (mariadb-backup) of a replica — a multi-source one included — into
   * `<backupDir>/<server>/<id>/` on its host, through its agent, with a manifest beside it:
   * every replication connection (its source cluster, filter) and gtid_slave_pos at the
   * backup's point. The SQL threads are stopped around it so every connection's position is
   * the backup's (docs/operations.md, "Backups of a multi-source replica").
   */
  backup: z.strictObject({ server: ServerName, reason, dryRun }),
  /** The backups of a server (or of every server of the cluster), read from their manifests. */
  backups: z.strictObject({ server: ServerName.optional(), dryRun }),
  /**
   * Replace a replica's datadir with one of its own backups, then re-attach every
   * connection of the backup's manifest, at the manifest's gtid_slave_pos, to each source
   * cluster's CURRENT primary, with its filter.
   */
  "restore-backup": z.strictObject({ server: ServerName, backup: BackupId, reason, dryRun }),
  /**
   * Retention: of the server's backups, the newest `keep` complete ones are kept; every other
   * backup directory (older complete ones, and leftovers without a manifest) is deleted on its
   * host — with `olderThanDays`, only those older than that. Never while a backup or restore
   * of the server runs (docs/operations.md, "Pruning old backups").
   */
  "prune-backups": z.strictObject({
    server: ServerName,
    keep: BackupKeep,
    olderThanDays: BackupOlderThanDays.optional(),
    reason,
    dryRun,
  }),
} as const satisfies Record<CommandVerb, z.ZodType>;

/** The command asks for a dry-run (every verb but status has the flag). */
export function isDryRun(command: { payload: object }): boolean {
  return (command.payload as { dryRun?: unknown }).dryRun === true;
}

export type CommandPayload<V extends CommandVerb> = z.infer<(typeof CommandPayloads)[V]>;

/** A command with its verb, as the decider handles it. */
export type Command = {
  [V in CommandVerb]: { verb: V; payload: CommandPayload<V> };
}[CommandVerb];

export const CommandReply = z.discriminatedUnion("ok", [
  z.strictObject({
    ok: z.literal(true),
    verb: z.string().max(VERB_MAX),
    /** Set when the command started an operation; follow it on `op.<opId>`. */
    opId: OpId.optional(),
    message: z.string().max(4096),
    data: z.record(z.string(), z.unknown()).optional(),
    /** The answer to a command sent with `dryRun: true`: what it would do now. */
    dryRun: DryRunReport.optional(),
  }),
  z.strictObject({ ok: z.literal(false), verb: z.string().max(VERB_MAX), error: ErrorBody }),
]);

export const CommandReplyMessage = envelopeOf("command-reply", CommandReply);

const commandMessage = <V extends CommandVerb>(verb: V) =>
  envelopeOf(`cmd.${verb}`, CommandPayloads[verb]);

/** Each command's envelope form; a bare payload object is accepted as well (see parseCommand). */
export const CommandMessages = Object.fromEntries(
  Object.keys(CommandPayloads).map((verb) => [verb, commandMessage(verb as CommandVerb)]),
) as { [V in CommandVerb]: ReturnType<typeof commandMessage<V>> };

/**
 * How a command body is read. A JSON object with an own `type` or `payload` key is an
 * envelope, and must be a whole valid one: strict, `type` `cmd.<verb>` of the subject,
 * `version` 1, `id`, ISO `time`, `source`. Anything else is the bare payload. So no command
 * payload may have a field with one of these names (a test over CommandPayloads checks it).
 */
export const ENVELOPE_MARKERS = ["type", "payload"] as const;

export function isCommandEnvelope(body: unknown): body is Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  return ENVELOPE_MARKERS.some((k) => Object.hasOwn(body, k));
}

export type CommandReply = z.infer<typeof CommandReply>;
