// What a save-binlogs step dumps and how, as pure functions (measured on MariaDB 10.11 with
// mariadb-binlog 3.5, see docs/operations.md "Saving a diverged server's extra events"):
// - `--raw` with a GTID `--start-position` drops events from the files it writes and exits
//   with an error, so the raw dump is of whole files, from the first one holding the fork;
// - decoding with a GTID start position is exclusive (0-1-4 starts at 0-1-5), per domain,
//   and must name every domain of the first file's initial GTID list at or beyond it
//   (otherwise "does not specify an initial value for domain" / "missing data for domain");
// - a GTID `--stop-position` leaves out every domain it does not name, so none is used;
// - `--server-id` is a filter of mariadb-binlog (alias of --do-server-ids): a "dedicated id"
//   given there would save nothing. The dump connection's id is --stop-never-slave-server-id.
import { formatGtidList, type Gtid, type GtidList, parseGtidList } from "@marina/contracts";

export interface BinlogFile {
  readonly name: string;
  readonly bytes: number;
  /** The GTID position at the file's start (BINLOG_GTID_POS(name, 4)). */
  readonly start: string;
}

export interface FileChoice {
  /** The files to dump, in order, from the first one. */
  readonly files: readonly BinlogFile[];
  /** False when the fork point is older than every file left (purged): all of them. */
  readonly complete: boolean;
}

function seqOf(list: GtidList, domain: number): bigint {
  return list.find((g) => g.domain === domain)?.seq ?? 0n;
}

/**
 * The last file whose start is at or before the fork point in every domain of the fork, and
 * every file after it. No fork point (a domain without a common GTID): all files.
 */
export function chooseFiles(files: readonly BinlogFile[], forkPoint: string): FileChoice {
  const fork = parseGtidList(forkPoint);
  if (fork.length === 0) return { files, complete: true };
  let first = -1;
  files.forEach((f, i) => {
    const start = parseGtidList(f.start);
    if (fork.every((g) => seqOf(start, g.domain) <= g.seq)) first = i;
  });
  if (first < 0) return { files, complete: false };
  return { files: files.slice(first), complete: true };
}

/**
 * Where decoding starts (exclusive): the fork point in its domains, and the first file's
 * initial position in every other domain it names (mariadb-binlog requires one for each).
 * Empty when there is no fork point: the whole files are decoded.
 */
export function decodeStart(firstFileStart: string, forkPoint: string): string {
  const fork = parseGtidList(forkPoint);
  if (fork.length === 0) return "";
  const out: Gtid[] = [...fork];
  for (const g of parseGtidList(firstFileStart)) {
    if (!fork.some((f) => f.domain === g.domain)) out.push(g);
  }
  return formatGtidList(out);
}

/** `<cluster>-<server>-<time>-<opId>`: a new folder per save. */
export function saveFolderName(cluster: string, server: string, at: Date, opId: string): string {
  const stamp = at.toISOString().replace(/[:.]/g, "-");
  return `${cluster}-${server}-${stamp}-${opId}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export interface DumpTls {
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** An option-file value in double quotes, escaped as the client library reads it. */
function optionValue(v: string): string {
  if (/[\n\r\0]/.test(v)) throw new Error("a value with a line break cannot go in an option file");
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The option file of the dump's connection (written mode 0600, never on a command line): the
 * executor's account, the server's address, TLS when the cluster has it.
 */
export function optionFileText(o: {
  user: string;
  password: string;
  host: string;
  port: number;
  tls?: DumpTls | undefined;
}): string {
  const lines = [
    "[client]",
    `user=${optionValue(o.user)}`,
    `password=${optionValue(o.password)}`,
    `host=${optionValue(o.host)}`,
    `port=${o.port}`,
    "protocol=TCP",
  ];
  if (o.tls) {
    lines.push(`ssl-ca=${optionValue(o.tls.ca)}`, "ssl-verify-server-cert");
    if (o.tls.cert) lines.push(`ssl-cert=${optionValue(o.tls.cert)}`);
    if (o.tls.key) lines.push(`ssl-key=${optionValue(o.tls.key)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The raw dump: whole files from `first` to the last, into `folder`. */
export function dumpArgv(o: {
  optionFile: string;
  folder: string;
  first: string;
  dumpServerId: number;
}): string[] {
  return [
    // First, so no other option file (/etc/mysql/my.cnf) is read.
    `--defaults-file=${o.optionFile}`,
    "--read-from-remote-server",
    "--raw",
    "--to-last-log",
    `--stop-never-slave-server-id=${o.dumpServerId}`,
    `--result-file=${o.folder}/`,
    o.first,
  ];
}

/** Decoding the saved files into SQL text, from `start` (exclusive) when given. */
export function decodeArgv(o: { files: readonly string[]; start: string; out: string }): string[] {
  return [
    "--no-defaults",
    // Row events as commented pseudo-SQL (### INSERT INTO …) besides the BINLOG blocks.
    "--verbose",
    ...(o.start === "" ? [] : [`--start-position=${o.start}`]),
    `--result-file=${o.out}`,
    ...o.files,
  ];
}

/** A binlog file name as SHOW BINARY LOGS gives it: no path, nothing an option could be. */
export function isBinlogName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(name);
}
