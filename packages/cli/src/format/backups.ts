// marina backups: one row per kept backup, newest first, as the manifests say.
import type { BackupManifest, BackupPruneResult } from "@marina/contracts";
import type { Style } from "./style.js";
import { renderTable } from "./table.js";

export interface BackupsTableOptions {
  readonly boxed: boolean;
  readonly style: Style;
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** A connection as `name←cluster(source) filter`. */
export function connectionCell(c: BackupManifest["connections"][number]): string {
  const from = c.cluster
    ? `${c.cluster}${c.source ? `(${c.source})` : ""}`
    : `${c.masterHost}:${c.masterPort}`;
  const filter = c.wildDoTables.length > 0 ? ` ${c.wildDoTables.join(",")}` : "";
  return `'${c.name}'←${from}${filter}${c.sqlRunning || c.ioRunning ? "" : " (stopped)"}`;
}

export function formatBackupsTable(
  backups: readonly BackupManifest[],
  o: BackupsTableOptions,
): string {
  return renderTable(
    ["server", "id", "taken", "size", "gtid_slave_pos", "connections"],
    backups.map((b) => [
      b.server,
      b.id,
      b.endedAt,
      mb(b.bytes),
      b.gtidSlavePos || "(empty)",
      b.connections.map(connectionCell).join(" ") || "none",
    ]),
    o,
  );
}

/** marina backups prune: one row per directory looked at — deleted (or would be), kept, left. */
export function formatPruneTable(r: BackupPruneResult, o: BackupsTableOptions): string {
  const gone = r.dryRun ? "would delete" : "delete";
  const rows = [
    ...r.deleted.map((e) => [gone, e] as const),
    ...r.kept.map((e) => ["keep", e] as const),
    ...r.skipped.map((e) => ["leave alone", e] as const),
  ];
  const table = renderTable(
    ["", "id", "complete", "started", "size", "why"],
    rows.map(([what, e]) => [
      what,
      e.id,
      e.complete ? "yes" : "no",
      e.startedAt ?? "-",
      mb(e.bytes),
      e.why,
    ]),
    o,
  );
  const freed = `${r.dryRun ? "would free" : "frees"} ${mb(r.bytesFreed)} on ${r.server}'s host`;
  return `${table}\n${freed}`;
}
