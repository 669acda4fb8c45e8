import { lstat, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type BackupManifest,
  BackupManifest as ManifestSchema,
  MarinaError,
} from "@marina/contracts";
import { backupToDir, parseBackupPosition } from "@marina/hostops";
import {
  connectionsOf,
  domainsOf,
  freshBackupId,
  type KnownSource,
  samePosition,
  slaveInfoPosition,
  sortManifests,
} from "../backup/manifest.js";
import type { AgentServerConfig } from "../config.js";
import type { HostBackend } from "../host/backend.js";
import { type PausedReplica, pauseSqlThreads, replicaThreads } from "../host/local-sql.js";
import { budget, type OpContext, phase } from "./context.js";
import type { OpRecord } from "./registry.js";
import {
  removeHoldMarker,
  restoreReplication,
  stillStopped,
  writeHoldMarker,
} from "./replication-hold.js";

// Kept backups of a server on its own host: `<backupDir>/<server>/<id>/data` (what
// mariadb-backup wrote) and `manifest.json` beside it. Only the manifest makes a directory a
// backup: one that failed half-way is removed, and a directory without one is never listed.

export const MANIFEST = "manifest.json";

/** The server's backup directory, or NOT_APPLICABLE (no backupDir, or a server over SSH). */
export function backupRoot(ctx: OpContext, server: AgentServerConfig, host: HostBackend): string {
  if (ctx.cfg.backupDir === undefined) {
    throw new MarinaError(
      "NOT_APPLICABLE",
      `agent ${ctx.cfg.host} has no backupDir: set backupDir in its config to keep backups`,
      { path: "payload.request.server" },
    );
  }
  if (host.kind !== "local") {
    throw new MarinaError(
      "NOT_APPLICABLE",
      `${server.name} is served over SSH: kept backups need an agent on its host`,
      { path: "payload.request.server" },
    );
  }
  return join(ctx.cfg.backupDir, server.name);
}

/**
 * mariadb-backup of a replica with every running SQL thread stopped around it, so the data
 * and gtid_slave_pos (every domain) are one point; exactly the threads it stopped are started
 * again, whatever happened (holdSqlThreads). The position is cross-checked with xtrabackup_slave_info.
 */
export async function takeBackup(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  sources: readonly KnownSource[],
  limitMs: number,
): Promise<Record<string, unknown>> {
  const timings: Record<string, number> = {};
  const left = budget(ctx.now, limitMs);
  const host = ctx.host(server);
  const root = backupRoot(ctx, server, host);
  await mkdir(root, { recursive: true, mode: 0o750 });
  const startedAt = new Date(ctx.now());
  const id = freshBackupId(startedAt, await readdir(root));
  const dir = join(root, id);
  // Not recursive: an existing directory fails here, so no earlier backup is ever written over.
  await mkdir(dir, { mode: 0o750 });
  const data = join(dir, "data");
  try {
    const paused = await holdSqlThreads(ctx, rec, timings, server, () =>
      host.run(
        backupToDir({
          defaultsFile: server.defaultsFile,
          socket: server.socket,
          user: ctx.cfg.backup.user,
          targetDir: data,
        }),
        {
          timeoutMs: left(ctx.cfg.timeouts.streamMs, "backup"),
          signal: rec.controller.signal,
          env: ctx.backupEnv,
        },
      ),
    );
    const restarted = paused.restarted;
    const binlogInfo = (await host.readBackupInfo(data, "xtrabackup_binlog_info")) ?? "";
    const slaveInfo = (await host.readBackupInfo(data, "xtrabackup_slave_info")) ?? "";
    const recorded = slaveInfoPosition(slaveInfo);
    if (
      paused.rows.length > 0 &&
      (recorded === null || !samePosition(recorded, paused.gtidSlavePos))
    ) {
      throw new MarinaError(
        "TOOL_FAILED",
        `the backup's xtrabackup_slave_info says gtid_slave_pos ${recorded ?? "(none)"}, not ${paused.gtidSlavePos} read with the SQL threads stopped: not a consistent backup`,
      );
    }
    const manifest: BackupManifest = ManifestSchema.parse({
      version: 1,
      id,
      server: server.name,
      startedAt: startedAt.toISOString(),
      endedAt: new Date(ctx.now()).toISOString(),
      gtidSlavePos: paused.gtidSlavePos,
      domains: domainsOf(paused.gtidSlavePos),
      gtidBinlogPos: binlogInfo ? parseBackupPosition(binlogInfo, null).gtid : "",
      connections: connectionsOf(paused.rows, sources),
      bytes: await host.treeSize(data),
      slaveInfo,
    });
    await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {
      flag: "wx",
      mode: 0o640,
    });
    ctx.log.info({ id, dir, stopped: paused.stopped, restarted }, "backup kept");
    return {
      action: "take-backup",
      server: server.name,
      dir,
      sqlThreadsStopped: paused.stopped,
      sqlThreadsRestarted: restarted,
      manifest,
      timings,
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Runs `backup` with every running SQL thread stopped: the threads that ran are recorded in
 * a marker first (an agent that dies meanwhile starts them at its next start), then stopped,
 * then — whatever happened — started again with retries and checked, the marker removed.
 * A failed restart is REPLICATION_STOPPED naming the threads still stopped (and the backup's
 * own error first, if it had one); otherwise the backup's error, if any, is thrown as is.
 */
async function holdSqlThreads(
  ctx: OpContext,
  rec: OpRecord,
  timings: Record<string, number>,
  server: AgentServerConfig,
  backup: () => Promise<unknown>,
): Promise<PausedReplica & { restarted: string[] }> {
  const account = ctx.host(server).account;
  const before = await phase(rec, timings, "guard", () => replicaThreads(account));
  const running = before.filter((r) => r.sqlRunning).map((r) => r.connection);
  await writeHoldMarker(ctx, rec.opId, server.name, running);
  let paused: PausedReplica | undefined;
  let failure: unknown;
  try {
    paused = await phase(rec, timings, "stop", () => pauseSqlThreads(account));
    await phase(rec, timings, "backup", backup);
  } catch (err) {
    failure = err;
  }
  const names = [...new Set([...running, ...(paused?.stopped ?? [])])];
  rec.phase = "restore-replication";
  try {
    const restarted = await restoreReplication(ctx, server, names);
    await removeHoldMarker(ctx, server.name);
    if (failure) throw failure;
    return { ...paused!, restarted };
  } catch (err) {
    if (err === failure) throw err;
    const left = await stillStopped(ctx, server, names).catch(() => names);
    const first = failure ? `${(failure as Error).message}; then ` : "";
    throw new MarinaError(
      "REPLICATION_STOPPED",
      `${first}replication SQL threads stopped for the backup could not be started again (${(err as Error).message}): still stopped: ${left.map((n) => `'${n}'`).join(", ") || "(none now)"}; the agent starts them at its next start, or START SLAVE '<name>' SQL_THREAD`,
      { cause: failure ?? err },
    );
  }
}

/** The server's backups, newest first (one when `id` is given: BACKUP_NOT_FOUND without it). */
export async function listBackups(
  ctx: OpContext,
  server: AgentServerConfig,
  id?: string,
): Promise<BackupManifest[]> {
  const root = backupRoot(ctx, server, ctx.host(server));
  const ids = id !== undefined ? [id] : await readdir(root).catch(() => [] as string[]);
  const out: BackupManifest[] = [];
  for (const name of ids) {
    const m = await readManifest(root, name, server.name);
    if (m === "invalid")
      ctx.log.warn({ dir: join(root, name) }, "not a valid backup manifest: skipped");
    else if (m !== "absent") out.push(m);
  }
  if (id !== undefined && out.length === 0) {
    throw new MarinaError("BACKUP_NOT_FOUND", `${server.name} has no backup ${id} in ${root}`, {
      path: "payload.request.id",
    });
  }
  return sortManifests(out);
}

/**
 * The manifest of `<root>/<id>`: this backup's (its id and server match), `absent` (no
 * manifest.json), or `invalid` (unreadable, not a manifest, another backup's, a symlink, or
 * any error but ENOENT when looking for it).
 */
export async function readManifest(
  root: string,
  id: string,
  server: string,
): Promise<BackupManifest | "absent" | "invalid"> {
  const file = join(root, id, MANIFEST);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(file);
  } catch (err) {
    // Only a manifest that is not there is absent: an I/O error (EIO, ESTALE on NFS) must
    // not make a finished backup look like a leftover a prune deletes.
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : "invalid";
  }
  if (!st.isFile()) return "invalid";
  const text = await readFile(file, "utf8").catch(() => null);
  const parsed = ManifestSchema.safeParse(text === null ? null : parseJson(text));
  return parsed.success && parsed.data.id === id && parsed.data.server === server
    ? parsed.data
    : "invalid";
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
