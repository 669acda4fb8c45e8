import { type Compression, MarinaError } from "@marina/contracts";
import { REBUILD_MARKER as REBUILD_MARKER_NAME } from "./datadir-policy.js";
import type { Invocation } from "./programs.js";
import {
  checkAbsolutePath,
  checkDatadirPath,
  checkDbUser,
  checkOsName,
  checkPort,
  checkUnit,
  socatHost,
} from "./validate.js";

// Builders for every command line Marina runs on a host. Each builder validates its inputs
// and returns an argument array; no builder accepts free text.

/** PEM files for a TLS stream (socat OPENSSL); both ends verify the peer against `ca`. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

function tlsOptions(tls: TlsFiles): string {
  const cert = checkAbsolutePath(tls.cert, "tls.cert");
  const key = checkAbsolutePath(tls.key, "tls.key");
  const ca = checkAbsolutePath(tls.ca, "tls.ca");
  return `cert=${cert},key=${key},cafile=${ca},verify=1`;
}

export interface BackupStreamSpec {
  readonly defaultsFile: string;
  readonly socket: string;
  readonly user: string;
  /** Scratch directory mariadb-backup needs even when streaming. */
  readonly tmpDir: string;
}

/**
 * `mariadb-backup --backup --stream=xbstream` to stdout. The password is never an
 * argument (it would show in `ps`): the caller passes it as MYSQL_PWD in the environment.
 * `--defaults-file` comes first, or /etc/mysql/my.cnf would be read as well.
 */
export function backupStream(s: BackupStreamSpec): Invocation {
  return mariadbBackup(s, ["--stream=xbstream", "--slave-info", "--safe-slave-backup"], {
    dir: s.tmpDir,
    field: "tmpDir",
  });
}

/** `mariadb-backup --backup <options>`, `--defaults-file` first, the password never an argument. */
function mariadbBackup(
  s: { readonly defaultsFile: string; readonly socket: string; readonly user: string },
  options: readonly string[],
  target: { readonly dir: string; readonly field: string },
): Invocation {
  return {
    program: "mariadb-backup",
    privileged: true,
    args: [
      `--defaults-file=${checkAbsolutePath(s.defaultsFile, "defaultsFile")}`,
      "--backup",
      ...options,
      `--target-dir=${checkAbsolutePath(target.dir, target.field)}`,
      `--user=${checkDbUser(s.user, "backup.user")}`,
      `--socket=${checkAbsolutePath(s.socket, "socket")}`,
    ],
  };
}

export interface BackupToDirSpec {
  readonly defaultsFile: string;
  readonly socket: string;
  readonly user: string;
  /** A new, empty directory the backup is written into. */
  readonly targetDir: string;
}

/**
 * `mariadb-backup --backup` into a directory (a kept backup, not a stream). No
 * `--safe-slave-backup`: on 10.11 it stops only the default connection's SQL thread (and
 * nothing when the server has named connections only) — the caller stops every SQL thread
 * itself. `--slave-info` still writes xtrabackup_slave_info, the cross-check of the position.
 */
export function backupToDir(s: BackupToDirSpec): Invocation {
  return mariadbBackup(s, ["--slave-info"], { dir: s.targetDir, field: "targetDir" });
}

export interface LocalClientSpec {
  readonly defaultsFile: string;
  readonly socket: string;
  readonly user: string;
}

/** A dump's scope: absent, every database (the `mysql` schema included). */
export interface DumpScope {
  readonly databases?: readonly string[] | undefined;
  /**
   * The position only as a comment (`--master-data=2`): no `SET GLOBAL gtid_slave_pos`,
   * which a replica refuses while an SQL thread runs. MariaDB 10.11 writes it near the END
   * of the dump: `-- SET GLOBAL gtid_slave_pos='<pos>';` (DUMP_POSITION_COMMENT).
   */
  readonly positionAsComment?: boolean | undefined;
}

/** The position line a `--gtid --master-data=2` dump carries (10.11: after the data). */
export const DUMP_POSITION_COMMENT = /^-- SET GLOBAL gtid_slave_pos='([0-9,\s-]*)';$/;

/** Never starting with `-`: a name must not be taken for an option. */
const DATABASE_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$/;

/**
 * Logical backup to stdout: every database, the `mysql` schema with it (accounts and
 * grants come along as its tables, with a FLUSH PRIVILEGES after them; `--databases`
 * alone would leave them out), one consistent snapshot, routines, events and triggers.
 * `--gtid --master-data=1` makes the dump itself end with `SET GLOBAL
 * gtid_slave_pos='<position of the snapshot>'` (after a `CHANGE MASTER TO
 * MASTER_USE_GTID=slave_pos`): the target records the position as it loads, and the
 * receiver reads it back. The password travels as MYSQL_PWD, never as an argument.
 */
export function dumpStream(s: LocalClientSpec & DumpScope): Invocation {
  const scope = s.databases
    ? [
        "--databases",
        ...s.databases.map((d) => {
          if (!DATABASE_NAME.test(d)) throw new Error(`bad database name ${JSON.stringify(d)}`);
          return d;
        }),
      ]
    : ["--all-databases", "--flush-privileges"];
  return {
    program: "mariadb-dump",
    privileged: false,
    args: [
      `--defaults-file=${checkAbsolutePath(s.defaultsFile, "defaultsFile")}`,
      `--user=${checkDbUser(s.user, "backup.user")}`,
      `--socket=${checkAbsolutePath(s.socket, "socket")}`,
      "--single-transaction",
      "--gtid",
      s.positionAsComment ? "--master-data=2" : "--master-data=1",
      "--routines",
      "--events",
      "--triggers",
      // Options end here: database names come last (a name is never read as an option).
      ...scope,
    ],
  };
}

/**
 * Loads a dump read on stdin into the running server. `sql_log_bin=0` for the session:
 * the loaded rows must not become local GTIDs (the target would diverge again).
 */
export function loadStream(s: LocalClientSpec): Invocation {
  return {
    program: "mariadb",
    privileged: false,
    args: [
      `--defaults-file=${checkAbsolutePath(s.defaultsFile, "defaultsFile")}`,
      `--user=${checkDbUser(s.user, "backup.user")}`,
      `--socket=${checkAbsolutePath(s.socket, "socket")}`,
      "--init-command=SET SESSION sql_log_bin=0",
      "--batch",
      "--silent",
    ],
  };
}

/** `mariadb-backup --prepare` on the extracted datadir (applies the copied redo log). */
export function prepareBackup(datadir: string, defaultsFile: string): Invocation {
  return {
    program: "mariadb-backup",
    privileged: true,
    args: [
      `--defaults-file=${checkAbsolutePath(defaultsFile, "defaultsFile")}`,
      "--prepare",
      `--target-dir=${checkDatadirPath(datadir, "datadir")}`,
    ],
  };
}

/** `mbstream -x -C <datadir>`: unpacks the xbstream read on stdin. */
export function extractStream(datadir: string): Invocation {
  return {
    program: "mbstream",
    privileged: true,
    args: ["-x", "-C", checkDatadirPath(datadir, "datadir")],
  };
}

/** The compressor for the donor side; undefined for `none`. */
export function compressor(c: Compression): Invocation | undefined {
  switch (c.kind) {
    case "none":
      return undefined;
    case "pigz":
      return { program: "pigz", privileged: false, args: [`-${level(c.level, 9)}`, "-c"] };
    case "zstd":
      return {
        program: "zstd",
        privileged: false,
        args: [`-${level(c.level, 19)}`, "-T0", "-q", "-c"],
      };
    default:
      return exhaustive(c);
  }
}

/** The matching decompressor for the receiving side; undefined for `none`. */
export function decompressor(c: Compression): Invocation | undefined {
  switch (c.kind) {
    case "none":
      return undefined;
    case "pigz":
      return { program: "pigz", privileged: false, args: ["-d", "-c"] };
    case "zstd":
      return { program: "zstd", privileged: false, args: ["-d", "-q", "-c"] };
    default:
      return exhaustive(c);
  }
}

function level(value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`compression level must be 1-${max}`);
  }
  return value;
}

function exhaustive(x: never): never {
  throw new Error(`unhandled case ${JSON.stringify(x)}`);
}

/** What `socat -d -d` prints when it listens, accepted its peer, or is connected. */
export const SOCAT_LISTENING = / N listening on /;
export const SOCAT_ACCEPTED = / N accepting connection from /;
// With connect-timeout socat connects non-blocking and never prints "successfully
// connected"; the transfer loop starting means the same.
export const SOCAT_CONNECTED = / N (successfully connected|starting data transfer)/;

export interface ListenSpec {
  readonly port: number;
  /** Local address to bind; the listener accepts one connection and exits at EOF. */
  readonly bind: string;
  readonly tls?: TlsFiles | undefined;
}

/**
 * Receiving end: `socat -d -d -u TCP-LISTEN:<port>,reuseaddr,bind=<addr> -` writes the
 * stream to stdout. `-d -d` makes socat report "listening on" and "accepting connection",
 * which is how readiness and the donor's arrival are seen.
 */
export function listenStream(s: ListenSpec): Invocation {
  const port = checkPort(s.port, "port");
  const bind = socatHost(s.bind, "bind");
  const address = s.tls
    ? `OPENSSL-LISTEN:${port},reuseaddr,bind=${bind},${tlsOptions(s.tls)}`
    : `TCP-LISTEN:${port},reuseaddr,bind=${bind}`;
  return { program: "socat", privileged: false, args: ["-d", "-d", "-u", address, "-"] };
}

export interface ConnectSpec {
  readonly address: string;
  readonly port: number;
  readonly connectTimeoutS: number;
  readonly tls?: TlsFiles | undefined;
}

/** Sending end: `socat -d -d -u - TCP:<addr>:<port>` reads the stream from stdin. */
export function connectStream(s: ConnectSpec): Invocation {
  const host = socatHost(s.address, "to.address");
  const port = checkPort(s.port, "to.port");
  const timeout = Math.max(1, Math.min(3600, Math.round(s.connectTimeoutS)));
  const address = s.tls
    ? `OPENSSL:${host}:${port},${tlsOptions(s.tls)},connect-timeout=${timeout}`
    : `TCP:${host}:${port},connect-timeout=${timeout}`;
  return { program: "socat", privileged: false, args: ["-d", "-d", "-u", "-", address] };
}

export type ServiceVerb = "start" | "stop";

export function systemctl(verb: ServiceVerb, unit: string): Invocation {
  return { program: "systemctl", privileged: true, args: [verb, checkUnit(unit, "unit")] };
}

/** `systemctl show -p MainPID --value <unit>`: the service's pid, 0 when stopped. */
export function systemctlMainPid(unit: string): Invocation {
  return {
    program: "systemctl",
    privileged: false,
    args: ["show", "-p", "MainPID", "--value", checkUnit(unit, "unit")],
  };
}

// The commands below serve the agent's SSH backend, where Node's fs is not at hand. The
// local agent does the same with fs calls that never follow symlinks.

/**
 * Empties a datadir without removing it: `find <dir> -xdev -mindepth 1 -delete`. find
 * never follows symlinks (it deletes the link) and -xdev keeps it on the datadir's
 * filesystem; unlike `rm -rf <dir>/*` it needs no shell glob and matches one exact
 * sudoers line.
 */
export function emptyDirectory(datadir: string): Invocation {
  return {
    program: "find",
    privileged: true,
    args: [checkDatadirPath(datadir, "datadir"), "-xdev", "-mindepth", "1", "-delete"],
  };
}

/** `chown -R -h user:group <datadir>`; -h changes links themselves, never their targets. */
export function chownDatadir(datadir: string, user: string, group: string): Invocation {
  return {
    program: "chown",
    privileged: true,
    args: [
      "-R",
      "-h",
      `${checkOsName(user, "osUser")}:${checkOsName(group, "osGroup")}`,
      checkDatadirPath(datadir, "datadir"),
    ],
  };
}

/** `ls -A1p <datadir>`: one entry per line, directories with a trailing '/'. */
export function listDirectory(datadir: string): Invocation {
  return { program: "ls", privileged: true, args: ["-A1p", checkDatadirPath(datadir, "datadir")] };
}

/** `realpath -e <datadir>`: the canonical path (the guard compares it to the configured one). */
export function resolvePath(datadir: string): Invocation {
  return {
    program: "realpath",
    privileged: false,
    args: ["-e", checkDatadirPath(datadir, "datadir")],
  };
}

/** Files of a prepared backup that Marina reads back. */
export const BACKUP_INFO_FILES = ["xtrabackup_binlog_info", "xtrabackup_slave_info"] as const;
export type BackupInfoFile = (typeof BACKUP_INFO_FILES)[number];

export function readBackupInfo(datadir: string, file: BackupInfoFile): Invocation {
  return {
    program: "cat",
    privileged: true,
    args: [`${checkDatadirPath(datadir, "datadir")}/${file}`],
  };
}

/** `du -sb <datadir>`: bytes extracted so far (the size of a restored datadir). */
export function diskUsage(datadir: string): Invocation {
  return { program: "du", privileged: true, args: ["-sb", checkDatadirPath(datadir, "datadir")] };
}

// The agent's SSH backend: what the local agent does with fs calls on the rebuild marker,
// a saved binlog copy and /proc, as fixed templates. Paths come from the agent's config
// (the marker's name is a constant); a pid is a number.

/** `tee <datadir>/.marina-rebuild.json`: writes the marker read on stdin. */
export function writeMarkerFile(datadir: string): Invocation {
  return {
    program: "tee",
    privileged: true,
    args: [`${checkDatadirPath(datadir, "datadir")}/${REBUILD_MARKER_NAME}`],
  };
}

/** `cat <datadir>/.marina-rebuild.json`. */
export function readMarkerFile(datadir: string): Invocation {
  return {
    program: "cat",
    privileged: true,
    args: [`${checkDatadirPath(datadir, "datadir")}/${REBUILD_MARKER_NAME}`],
  };
}

/** `find <datadir> -maxdepth 1 -type f -name .marina-rebuild.json -delete` (no `rm` needed). */
export function removeMarkerFile(datadir: string): Invocation {
  return {
    program: "find",
    privileged: true,
    args: [
      checkDatadirPath(datadir, "datadir"),
      "-maxdepth",
      "1",
      "-type",
      "f",
      "-name",
      REBUILD_MARKER_NAME,
      "-delete",
    ],
  };
}

/** `mkdir -p -m 0700 <dir>`: a new folder for saved binlogs. */
export function makePrivateDir(dir: string): Invocation {
  return {
    program: "mkdir",
    privileged: true,
    args: ["-p", "-m", "0700", checkAbsolutePath(dir, "dir")],
  };
}

/** A plain file name (a binlog from SHOW BINARY LOGS): no path, no leading '-' or '.'. */
export function checkFileName(value: string, field: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/.test(value)) {
    throw new MarinaError("VALIDATION_FAILED", `${field}: must be a plain file name`, {
      path: field,
    });
  }
  return value;
}

/** `cp --no-clobber --preserve=timestamps <dir>/<file> <dest>/<file>`. */
export function copyFileInto(dir: string, file: string, dest: string): Invocation {
  const name = checkFileName(file, "file");
  return {
    program: "cp",
    privileged: true,
    args: [
      "--no-clobber",
      "--preserve=timestamps",
      `${checkAbsolutePath(dir, "dir")}/${name}`,
      `${checkAbsolutePath(dest, "dest")}/${name}`,
    ],
  };
}

/** `cat /proc/<pid>/<io|cmdline>` of a process the ssh user owns (socat) or any (cmdline). */
export function readProcFile(pid: number, file: "io" | "cmdline"): Invocation {
  if (!Number.isInteger(pid) || pid < 2 || pid > 4_194_304) {
    throw new MarinaError("VALIDATION_FAILED", "pid: must be a process id", { path: "pid" });
  }
  return { program: "cat", privileged: false, args: [`/proc/${pid}/${file}`] };
}
