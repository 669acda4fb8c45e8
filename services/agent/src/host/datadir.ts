import type { Dirent } from "node:fs";
import {
  lchown,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { MarinaError } from "@marina/contracts";
import {
  checkDatadirPath,
  type DirEntry,
  type EntryKind,
  judgeDatadirListing,
  REBUILD_MARKER,
} from "@marina/hostops";

// The guard in front of the only destructive thing the agent does. The datadir comes from
// the agent's config, never from a request; even so, before anything is removed:
//  - the configured path is absolute, normalised and not a system directory;
//  - it is a real directory: lstat says directory and realpath equals the configured path
//    (a symlinked datadir, or one under a symlinked parent, is refused);
//  - it is empty or looks like a MariaDB datadir (judgeDatadirListing);
//  - no entry is a mount point (removal never crosses into another filesystem).
// Only the contents are removed, entry by entry, with fs.rm, which unlinks symlinks
// instead of following them.

function refuse(datadir: string, why: string): never {
  throw new MarinaError("REFUSED", `datadir ${datadir}: ${why}`, { path: "datadir" });
}

function kindOf(e: Dirent): EntryKind {
  if (e.isSymbolicLink()) return "symlink";
  if (e.isDirectory()) return "dir";
  if (e.isFile()) return "file";
  return "other";
}

/** Checks the datadir and returns its top-level entries; throws REFUSED when unsafe. */
export async function guardDatadir(datadir: string): Promise<DirEntry[]> {
  try {
    checkDatadirPath(datadir, "datadir");
  } catch (err) {
    refuse(datadir, (err as Error).message.replace(/^datadir: /, ""));
  }
  const st = await lstat(datadir).catch(() => undefined);
  if (!st) refuse(datadir, "does not exist");
  if (st.isSymbolicLink()) refuse(datadir, "is a symbolic link; configure the real path");
  if (!st.isDirectory()) refuse(datadir, "is not a directory");
  const real = await realpath(datadir);
  if (real !== datadir) refuse(datadir, `resolves to ${real}; configure the real path`);
  const dirents = await readdir(datadir, { withFileTypes: true });
  const entries = dirents.map((e) => ({ name: e.name, kind: kindOf(e) }));
  const verdict = judgeDatadirListing(entries);
  if (!verdict.ok) refuse(datadir, verdict.reason);
  for (const e of entries) {
    if (e.kind !== "dir") continue;
    const child = await lstat(join(datadir, e.name));
    if (child.dev !== st.dev) refuse(datadir, `${e.name} is a mount point; refusing to cross it`);
  }
  return entries;
}

/** Removes everything inside the datadir (not the directory itself), after the guard. */
export async function emptyDatadir(datadir: string): Promise<number> {
  const { removed, deleted } = await clearDatadir(datadir, `.marina-trash-${process.pid}`);
  await deleted;
  return removed;
}

/** Name prefix of the directory a rebuild moves the old contents into. */
export const TRASH_PREFIX = ".marina-trash-";

/**
 * Empties the datadir at once and deletes the old contents in the background: after the
 * guard, every entry is renamed into `<datadir>/<trash>` (same directory, so renames are
 * instant and nothing leaves the guarded tree), then the trash is removed while the new
 * data streams in. Deleting a large datadir takes seconds; this way it overlaps the
 * transfer. `deleted` must be awaited before the datadir is used (prepare/start).
 */
export async function clearDatadir(
  datadir: string,
  trash: string,
): Promise<{ removed: number; deleted: Promise<void> }> {
  if (!trash.startsWith(TRASH_PREFIX) || trash.includes("/"))
    throw new Error(`bad trash name ${trash}`);
  const entries = await guardDatadir(datadir);
  const trashDir = join(datadir, trash);
  await mkdir(trashDir, { mode: 0o700 });
  for (const e of entries) {
    if (e.name === trash) continue;
    await rename(join(datadir, e.name), join(trashDir, e.name));
  }
  // rm with recursive never follows a symlink: a link is removed, its target is not.
  const deleted = rm(trashDir, { recursive: true, force: true });
  deleted.catch(() => {});
  return { removed: entries.length, deleted };
}

/** What the rebuild marker in a datadir records. */
export interface RebuildMarker {
  readonly opId: string;
  readonly state: "restoring" | "failed";
  readonly reason: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
}

export async function writeRebuildMarker(datadir: string, m: RebuildMarker): Promise<void> {
  await writeFile(join(datadir, REBUILD_MARKER), `${JSON.stringify(m)}\n`, { mode: 0o600 });
}

/** The marker, if the datadir has one; a datadir with a marker must not be started. */
export async function readRebuildMarker(datadir: string): Promise<RebuildMarker | undefined> {
  const text = await readFile(join(datadir, REBUILD_MARKER), "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseRebuildMarker(text);
}

/** A marker's text; one that cannot be read is a failed rebuild all the same. */
export function parseRebuildMarker(text: string): RebuildMarker {
  try {
    return JSON.parse(text) as RebuildMarker;
  } catch {
    return {
      opId: "unknown",
      state: "failed",
      reason: "unreadable rebuild marker",
      startedAt: "",
      updatedAt: "",
    };
  }
}

export async function removeRebuildMarker(datadir: string): Promise<void> {
  await rm(join(datadir, REBUILD_MARKER), { force: true });
}

/** Looks up a user/group id via /etc/passwd and /etc/group (no `id` program needed). */
async function lookupId(file: string, name: string): Promise<number> {
  const text = await readFile(file, "utf8");
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  throw new MarinaError("VALIDATION_FAILED", `${name} is not in ${file}`);
}

/**
 * chown -R without following symlinks: lchown on every entry, descending only into real
 * directories on the datadir's filesystem.
 */
export async function chownTree(datadir: string, user: string, group: string): Promise<void> {
  const uid = await lookupId("/etc/passwd", user);
  const gid = await lookupId("/etc/group", group);
  const root = await stat(datadir);
  const walk = async (dir: string): Promise<void> => {
    await lchown(dir, uid, gid);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        const st = await lstat(p);
        if (st.dev === root.dev) await walk(p);
      } else {
        await lchown(p, uid, gid);
      }
    }
  };
  await walk(datadir);
}

/** Total size of the regular files under a directory (a donor's estimate of the stream). */
export async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => [] as Dirent[]);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await lstat(p).catch(() => undefined))?.size ?? 0;
    }
  };
  await walk(dir);
  return total;
}
