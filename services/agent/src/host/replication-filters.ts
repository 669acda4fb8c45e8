import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { ConnectionName, MarinaError } from "@marina/contracts";
import { type LocalAccount, withConnection } from "./local-sql.js";

// A multi-source replica's per-connection filters, written where the server reads them at
// start: MariaDB keeps `SET GLOBAL replicate_wild_do_table` in memory only, but reads
// `<connection>.replicate_wild_do_table = …` from its option files (verified on 10.11: a
// named connection gets it at start; one pattern per line, repeated). The file is
// Marina's alone and rewritten whole from what the server has now.

export interface ConnectionFilter {
  readonly connection: string;
  /** Replicate_Wild_Do_Table as SHOW ALL SLAVES STATUS shows it (`app1.%,x\_y.%`). */
  readonly wildDoTable: string;
}

/** What a pattern list may hold: no `#`/`;` (comments in an option file), quotes, newlines. */
const PATTERNS = /^[A-Za-z0-9_$%.,\\-]*$/;

/** The option file's text: `[mysqld]` and one line per filtered named connection. */
export function replicationFiltersCnf(filters: readonly ConnectionFilter[]): string {
  const lines = [
    "# Written by the Marina agent (persist-replication-filters): every change is overwritten.",
    "[mysqld]",
  ];
  for (const f of filters) {
    // The default connection ('') has no prefix form: Marina never filters it.
    if (f.connection === "" || f.wildDoTable === "") continue;
    if (!ConnectionName.safeParse(f.connection).success || !PATTERNS.test(f.wildDoTable)) {
      throw new MarinaError(
        "NOT_APPLICABLE",
        `connection '${f.connection}' has a filter that cannot be written to an option file: ${JSON.stringify(f.wildDoTable)}`,
      );
    }
    // One line per pattern: in an option file the value is ONE pattern — only SET GLOBAL
    // splits a comma list, and SHOW shows both alike (found on 10.11: after a restart a
    // second database's tables stopped arriving). An option file reads `\\` as one
    // backslash (and `\_` too; the doubled form is explicit).
    for (const pattern of f.wildDoTable.split(",")) {
      lines.push(`${f.connection}.replicate_wild_do_table = ${pattern.replaceAll("\\", "\\\\")}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function readConnectionFilters(a: LocalAccount): Promise<ConnectionFilter[]> {
  return withConnection(a, async (c) => {
    const rows = (await c.query("SHOW ALL SLAVES STATUS")) as Record<string, unknown>[];
    return rows.map((r) => ({
      connection: String(r.Connection_name ?? ""),
      wildDoTable: String(r.Replicate_Wild_Do_Table ?? ""),
    }));
  });
}

/**
 * Replaces the file atomically and durably: a temp file of its own beside it (a unique name,
 * created exclusively), written and fsynced, renamed over the file, the directory fsynced.
 * The temp name does not end in `.cnf`, so an `!includedir` never reads it.
 */
export async function writeReplicationFilters(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString("hex")}.marina-tmp`;
  try {
    const f = await open(tmp, "wx", 0o644);
    try {
      await f.writeFile(text);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(file), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
