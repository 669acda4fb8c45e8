// When may a directory be emptied as a MariaDB datadir? Pure rules, shared by the local
// agent (which lists with lstat) and its SSH backend (which lists with `ls -A1p`).

export type EntryKind = "file" | "dir" | "symlink" | "other";

export interface DirEntry {
  readonly name: string;
  readonly kind: EntryKind;
}

/** Marker Marina writes into a datadir it emptied; present = the datadir is not usable. */
export const REBUILD_MARKER = ".marina-rebuild.json";

/** Files only a MariaDB datadir has. */
const MARKER_FILES: ReadonlySet<string> = new Set([
  "ibdata1",
  "aria_log_control",
  "mysql_upgrade_info",
  "xtrabackup_checkpoints",
  REBUILD_MARKER,
]);

export type DatadirVerdict =
  | { readonly ok: true; readonly empty: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * A directory may be emptied when it is empty, or holds a MariaDB marker: one of the
 * marker files, or a real `mysql/` directory (not a symlink to one).
 */
export function judgeDatadirListing(entries: readonly DirEntry[]): DatadirVerdict {
  if (entries.length === 0) return { ok: true, empty: true };
  const marker = entries.some(
    (e) =>
      (e.kind === "file" && MARKER_FILES.has(e.name)) || (e.kind === "dir" && e.name === "mysql"),
  );
  if (marker) return { ok: true, empty: false };
  const sample = entries
    .slice(0, 5)
    .map((e) => e.name)
    .join(", ");
  return {
    ok: false,
    reason: `does not look like a MariaDB datadir (no ibdata1, aria_log_control or mysql/; found ${sample}${entries.length > 5 ? ", ..." : ""})`,
  };
}

/** Parses `ls -A1p` output: one name per line, directories end in '/'. */
export function parseLsListing(text: string): DirEntry[] {
  return text
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.length > 0)
    .map((l) =>
      l.endsWith("/")
        ? { name: l.slice(0, -1), kind: "dir" as const }
        : { name: l, kind: "file" as const },
    );
}
