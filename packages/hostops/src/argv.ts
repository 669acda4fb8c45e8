import type { Compression } from "@marina/contracts";
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
  return {
    program: "mariadb-backup",
    privileged: true,
    args: [
      `--defaults-file=${checkAbsolutePath(s.defaultsFile, "defaultsFile")}`,
      "--backup",
      "--stream=xbstream",
      "--slave-info",
      "--safe-slave-backup",
      `--target-dir=${checkAbsolutePath(s.tmpDir, "tmpDir")}`,
      `--user=${checkDbUser(s.user, "backup.user")}`,
      `--socket=${checkAbsolutePath(s.socket, "socket")}`,
    ],
  };
}

export interface LocalClientSpec {
  readonly defaultsFile: string;
  readonly socket: string;
  readonly user: string;
}

/**
 * Logical backup to stdout: every database, the `mysql` schema with it (accounts and
 * grants come along as its tables, with a FLUSH PRIVILEGES after them; `--databases`
 * alone would leave them out), one consistent snapshot, routines, events and triggers.
 * `--gtid --master-data=1` makes the dump itself end with `SET GLOBAL
 * gtid_slave_pos='<position of the snapshot>'` (after a `CHANGE MASTER TO
 * MASTER_USE_GTID=slave_pos`): the target records the position as it loads, and the
 * receiver reads it back. The password travels as MYSQL_PWD, never as an argument.
 */
export function dumpStream(s: LocalClientSpec): Invocation {
  return {
    program: "mariadb-dump",
    privileged: false,
    args: [
      `--defaults-file=${checkAbsolutePath(s.defaultsFile, "defaultsFile")}`,
      `--user=${checkDbUser(s.user, "backup.user")}`,
      `--socket=${checkAbsolutePath(s.socket, "socket")}`,
      "--all-databases",
      "--single-transaction",
      "--gtid",
      "--master-data=1",
      "--flush-privileges",
      "--routines",
      "--events",
      "--triggers",
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

// The commands below serve the agentless (SSH) mode, where Node's fs is not at hand. The
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

/** `du -sb <datadir>`: bytes extracted so far (progress of an agentless receive). */
export function diskUsage(datadir: string): Invocation {
  return { program: "du", privileged: true, args: ["-sb", checkDatadirPath(datadir, "datadir")] };
}
