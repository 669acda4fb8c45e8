import { BackupId, type BackupManifest } from "@marina/contracts";

// Which of a server's backup directories a prune deletes (pure): the newest `keep` complete
// backups always stay, so the newest complete one is never deleted; the other complete ones
// and the leftovers without a manifest begun over a day ago go (with `olderThanDays`, only
// those older). Anything that is not a real directory named like a backup id, or whose
// manifest is not this backup's, is left alone: Marina deletes only what it made.

/** One entry of `<backupDir>/<server>/` as the agent found it (lstat: no symlink followed). */
export interface BackupDirEntry {
  readonly name: string;
  /** `dir`: a real directory; `other`: a symlink, a file, anything else. */
  readonly type: "dir" | "other";
  /** Its manifest: valid and this backup's, none (`absent`), or unreadable/not this backup's. */
  readonly manifest: BackupManifest | "absent" | "invalid";
}

export interface PruneRule {
  /** How many complete backups stay, newest first (at least 1). */
  readonly keep: number;
  readonly olderThanDays?: number | undefined;
  /** Now, in ms (the agent's clock). */
  readonly now: number;
}

export interface PruneChoice {
  readonly id: string;
  readonly complete: boolean;
  /** When it began (from its id); null when the name is not a backup id. */
  readonly startedAt: string | null;
  readonly why: string;
}

export interface PruneSelection {
  readonly deleted: PruneChoice[];
  readonly kept: PruneChoice[];
  readonly skipped: PruneChoice[];
}

const DAY_MS = 86_400_000;

/** The UTC time a backup id names (`20261205T154210Z`, maybe `-N`); null: not an id. */
export function backupIdTime(id: string): Date | null {
  if (!BackupId.safeParse(id).success) return null;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id)!;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const at = new Date(t);
  // 20261332T…: a regex-valid id that is no date; never taken for one.
  return at.getUTCMonth() === mo! - 1 && at.getUTCDate() === d! ? at : null;
}

/** Newest first: by time, then by the `-N` of ids taken within the same second (ids only). */
export function newestFirst(a: string, b: string): number {
  const ka = idKey(a);
  const kb = idKey(b);
  if (ka.base !== kb.base) return ka.base < kb.base ? 1 : -1;
  return kb.n - ka.n;
}

/** A backup id's sort key: its fixed-width UTC time, and its `-N` (1 without one). */
function idKey(id: string): { base: string; n: number } {
  const m = /^(\d{8}T\d{6}Z)(?:-(\d{1,3}))?$/.exec(id);
  if (!m) throw new Error(`not a backup id: ${JSON.stringify(id)}`);
  return { base: m[1] as string, n: m[2] === undefined ? 1 : Number(m[2]) };
}

/**
 * A directory without a manifest younger than this is kept whatever the rule: the agent's
 * registry already refuses a prune beside a running backup, and this covers one that is
 * being written by anything the registry does not know of.
 */
export const LEFTOVER_MIN_AGE_MS = DAY_MS;

export function selectPrune(entries: readonly BackupDirEntry[], rule: PruneRule): PruneSelection {
  if (!Number.isInteger(rule.keep) || rule.keep < 1) {
    throw new Error(`keep must be an integer of at least 1 (got ${rule.keep})`);
  }
  const out: PruneSelection = { deleted: [], kept: [], skipped: [] };
  const olderThan = rule.olderThanDays;
  const old = (at: Date) => olderThan === undefined || rule.now - at.getTime() > olderThan * DAY_MS;
  const notOld = `newer than ${olderThan} day(s)`;
  // Only real backup ids are ordered (a name like `…Z-copy` must not scramble the order that
  // decides which complete backup is the newest); the rest are left alone, after them.
  const timed = entries.map((e) => ({ e, at: backupIdTime(e.name) }));
  const ids = timed.filter((t) => t.at !== null).sort((a, b) => newestFirst(a.e.name, b.e.name));
  const sorted = [...ids, ...timed.filter((t) => t.at === null)];
  let complete = 0;
  for (const { e, at } of sorted) {
    const choice = (c: boolean, why: string): PruneChoice => ({
      id: e.name,
      complete: c,
      startedAt: at?.toISOString() ?? null,
      why,
    });
    if (e.type !== "dir") {
      out.skipped.push(choice(false, "not a directory (a symlink or a file): never followed"));
    } else if (at === null) {
      out.skipped.push(choice(false, "not named like a backup id: not Marina's"));
    } else if (e.manifest === "invalid") {
      out.skipped.push(choice(false, "its manifest.json is not this backup's: look at it"));
    } else if (e.manifest === "absent") {
      // take-backup removes what it failed to finish; this one's agent died mid-way. No
      // action runs on the server now (the agent's registry refuses a prune beside one).
      if (rule.now - at.getTime() <= LEFTOVER_MIN_AGE_MS) {
        out.kept.push(choice(false, "no manifest, but begun less than a day ago"));
      } else if (old(at)) {
        out.deleted.push(choice(false, "no manifest: a backup that never finished"));
      } else out.kept.push(choice(false, `no manifest, but ${notOld}`));
    } else {
      complete += 1;
      if (complete <= rule.keep) {
        out.kept.push(choice(true, `one of the newest ${rule.keep} complete backup(s)`));
      } else if (!old(at)) {
        out.kept.push(choice(true, notOld));
      } else {
        out.deleted.push(choice(true, `older than the newest ${rule.keep} complete backup(s)`));
      }
    }
  }
  return out;
}
