import { lstat, readdir, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type BackupPruneEntry, type BackupPruneResult, MarinaError } from "@marina/contracts";
import { type BackupDirEntry, type PruneChoice, selectPrune } from "../backup/retention.js";
import type { AgentServerConfig } from "../config.js";
import { treeSize } from "../host/datadir.js";
import { type OpContext, throwIfCancelled } from "./context.js";
import type { OpRecord } from "./registry.js";
import { backupRoot, readManifest } from "./take-backup.js";

// Retention of a server's kept backups, on its host. It runs as an action of the agent's
// registry, so never beside a take-backup or restore-backup of the same server: a directory
// without a manifest found here is a leftover no running action owns. Only real directories
// directly under `<backupDir>/<server>/`, named like a backup id, are ever deleted; a symlink
// is neither followed nor deleted (fs.rm unlinks links inside a tree, never their targets).

export interface PruneRequest {
  readonly keep: number;
  readonly olderThanDays?: number | undefined;
  readonly dryRun: boolean;
}

export async function pruneBackups(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  req: PruneRequest,
): Promise<BackupPruneResult> {
  const root = backupRoot(ctx, server, ctx.host(server));
  rec.phase = "prune";
  const entries = await entriesOf(root, server.name);
  const chosen = selectPrune(entries, { ...req, now: ctx.now() });
  const manifests = new Map(
    entries.flatMap((e) => (typeof e.manifest === "object" ? [[e.name, e.manifest]] : [])),
  );
  const sized = async (c: PruneChoice, measure: boolean): Promise<BackupPruneEntry> => ({
    ...c,
    bytes: measure ? await treeSize(inside(root, c.id)) : (manifests.get(c.id)?.bytes ?? 0),
  });
  const deleted: BackupPruneEntry[] = [];
  for (const c of chosen.deleted) deleted.push(await sized(c, true));
  const kept = await Promise.all(chosen.kept.map((c) => sized(c, false)));
  const skipped = await Promise.all(chosen.skipped.map((c) => sized(c, false)));
  if (!req.dryRun) {
    const gone: BackupPruneEntry[] = [];
    try {
      for (const d of deleted) {
        throwIfCancelled(rec);
        await removeBackupDir(root, d.id);
        gone.push(d);
        ctx.log.info({ id: d.id, bytes: d.bytes, why: d.why }, "backup deleted");
      }
    } catch (err) {
      // Stopped part-way: the answer says what is gone already (the reply is all the
      // decider gets; no BackupsPruned follows a failed prune).
      if (gone.length === 0) throw err;
      const ids = gone.map((g) => g.id).join(", ");
      const bytes = gone.reduce((n, g) => n + g.bytes, 0);
      throw new MarinaError(
        err instanceof MarinaError ? err.code : "INTERNAL",
        `${(err as Error).message}; deleted before it stopped: ${gone.length} backup(s) (${ids}), ${bytes} bytes`,
        { cause: err },
      );
    }
  }
  return {
    server: server.name,
    dryRun: req.dryRun,
    deleted,
    kept,
    skipped,
    bytesFreed: deleted.reduce((n, d) => n + d.bytes, 0),
  };
}

/** What `<backupDir>/<server>/` holds; none when it does not exist (nothing backed up yet). */
async function entriesOf(root: string, server: string): Promise<BackupDirEntry[]> {
  const st = await lstat(root).catch(() => null);
  if (st === null) return [];
  if (!st.isDirectory()) {
    throw new MarinaError(
      "REFUSED",
      `${root} is not a directory (a symlink?): nothing pruned; backups are kept in a real directory`,
      { path: "payload.request.server" },
    );
  }
  const out: BackupDirEntry[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const type = e.isDirectory() ? "dir" : "other";
    const manifest = type === "dir" ? await readManifest(root, e.name, server) : "invalid";
    out.push({ name: e.name, type, manifest });
  }
  return out;
}

/** `<root>/<id>`, refused when it would not be an entry directly under root. */
function inside(root: string, id: string): string {
  const path = resolve(root, id);
  if (id === "" || id.includes("/") || id.includes("\0") || dirname(path) !== resolve(root)) {
    throw new MarinaError("REFUSED", `${JSON.stringify(id)} is not an entry of ${root}`);
  }
  return path;
}

/** Deletes one backup directory, checked again right before: still a real directory. */
async function removeBackupDir(root: string, id: string): Promise<void> {
  const path = inside(root, id);
  const st = await lstat(path);
  if (!st.isDirectory()) {
    throw new MarinaError("REFUSED", `${path} is no longer a directory: not deleted`);
  }
  await rm(path, { recursive: true });
}
