import {
  type BackupConnection,
  type BackupManifest,
  formatGtidList,
  parseGtidList,
  positionOf,
} from "@marina/contracts";

// The pure parts of a kept backup: its id, what its manifest says about each replication
// connection (from SHOW ALL SLAVES STATUS rows), the position per domain, and the check that
// mariadb-backup's own record agrees with the position read while the SQL threads were
// stopped.

/** A configured server a connection may point at (from the take-backup request). */
export interface KnownSource {
  readonly cluster: string;
  readonly server: string;
  readonly host: string;
  readonly port: number;
}

type Row = Record<string, unknown>;

/** A backup's id at `at`: its UTC time to the second (`20261205T154210Z`). */
export function backupIdAt(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** The id to use when `taken` ids exist already: never an earlier backup's directory. */
export function freshBackupId(at: Date, taken: readonly string[]): string {
  const base = backupIdAt(at);
  if (!taken.includes(base)) return base;
  for (let n = 2; n < 1000; n++) {
    const id = `${base}-${n}`;
    if (!taken.includes(id)) return id;
  }
  throw new Error(`no free backup id at ${base}`);
}

/**
 * The source a connection points at: the configured server at its host and port. A server
 * listed in several clusters (a shared replica) is taken from the cluster the connection is
 * named after, else from the first.
 */
export function sourceOf(
  name: string,
  host: string,
  port: number,
  sources: readonly KnownSource[],
): KnownSource | null {
  const at = sources.filter((s) => s.host === host && s.port === port);
  return at.find((s) => s.cluster === name) ?? at[0] ?? null;
}

/** Each connection of SHOW ALL SLAVES STATUS as a manifest records it. */
export function connectionsOf(rows: readonly Row[], sources: readonly KnownSource[]) {
  return rows.map((r): BackupConnection => {
    const name = String(r.Connection_name ?? "");
    const masterHost = String(r.Master_Host ?? "");
    const masterPort = Number(r.Master_Port ?? 0);
    const src = sourceOf(name, masterHost, masterPort, sources);
    const filter = String(r.Replicate_Wild_Do_Table ?? "");
    return {
      name,
      cluster: src?.cluster ?? null,
      source: src?.server ?? null,
      masterHost,
      masterPort,
      wildDoTables: filter === "" ? [] : filter.split(","),
      sqlRunning: r.Slave_SQL_Running === "Yes",
      ioRunning: r.Slave_IO_Running === "Yes",
      gtidIoPos: String(r.Gtid_IO_Pos ?? ""),
    };
  });
}

/** A position per GTID domain: `{"1": "1-1-2516", "2": "2-2-2528"}`. */
export function domainsOf(gtid: string): Record<string, string> {
  return Object.fromEntries(
    positionOf(parseGtidList(gtid)).map((g) => [String(g.domain), formatGtidList([g])]),
  );
}

/** gtid_slave_pos as xtrabackup_slave_info records it; null when absent. */
export function slaveInfoPosition(slaveInfo: string): string | null {
  const m = /gtid_slave_pos\s*=\s*'([^']*)'/i.exec(slaveInfo);
  return m ? m[1]! : null;
}

/** Same GTID set, whatever the order of its domains. */
export function samePosition(a: string, b: string): boolean {
  const norm = (x: string) => formatGtidList(positionOf(parseGtidList(x)));
  return norm(a) === norm(b);
}

/** The manifests newest first; a server's own only. */
export function sortManifests(ms: readonly BackupManifest[]): BackupManifest[] {
  return [...ms].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
