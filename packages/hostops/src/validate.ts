import { isIPv4, isIPv6 } from "node:net";
import { posix } from "node:path";
import { MarinaError } from "@marina/contracts";

// Every value that reaches an argv list or a remote command line passes one of these
// checks first. Argv arrays are immune to shell injection, but not to option injection
// (a value starting with '-') or to socat's own address syntax (':' ',' '!'), and over SSH
// the same values are quoted into a shell line: a tight alphabet keeps all three safe.

/** Characters allowed in a path: no spaces, quotes, shell or socat metacharacters. */
const PATH_CHARS = /^\/[A-Za-z0-9._@+/-]*$/;
const OS_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const DB_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;
const UNIT = /^[A-Za-z0-9][A-Za-z0-9@_.-]{0,254}$/;
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function refuse(field: string, message: string): never {
  throw new MarinaError("VALIDATION_FAILED", `${field}: ${message}`, { path: field });
}

/** An absolute, normalised path without `..`, `.` or doubled slashes, and not `/`. */
export function checkAbsolutePath(value: string, field: string): string {
  if (value.length === 0 || value.length > 1024) refuse(field, "must be 1-1024 characters");
  if (!PATH_CHARS.test(value)) {
    refuse(field, "must be an absolute path of letters, digits and . _ @ + - / only");
  }
  if (value === "/") refuse(field, "must not be the root directory");
  if (value.split("/").some((seg) => seg === ".." || seg === ".")) {
    refuse(field, "must not contain '.' or '..' segments");
  }
  if (posix.normalize(value) !== value || value.endsWith("/")) {
    refuse(field, "must be normalised (no '//' and no trailing '/')");
  }
  return value;
}

/** A Unix user or group name (the `chown` owner of a datadir). */
export function checkOsName(value: string, field: string): string {
  if (!OS_NAME.test(value)) refuse(field, "must be a Unix user/group name ([a-z_][a-z0-9_-]*)");
  return value;
}

/** A MariaDB account name as passed to `--user=`. */
export function checkDbUser(value: string, field: string): string {
  if (!DB_USER.test(value)) refuse(field, "must be letters, digits, '_', '.' or '-'");
  return value;
}

/** A systemd unit name; never starts with '-' so it cannot become an option. */
export function checkUnit(value: string, field: string): string {
  if (!UNIT.test(value)) refuse(field, "must be a systemd unit name");
  return value;
}

export function checkPort(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) refuse(field, "must be 1-65535");
  return value;
}

/**
 * A host for a socat address: an IPv4 literal, a DNS name, or an IPv6 literal (returned in
 * brackets, as socat wants it). Anything else — notably ':' or ',' that would add socat
 * options — is refused.
 */
export function socatHost(value: string, field: string): string {
  if (isIPv4(value)) return value;
  if (isIPv6(value)) return `[${value}]`;
  if (value.length <= 253 && value.split(".").every((l) => HOST_LABEL.test(l))) return value;
  return refuse(field, "must be an IPv4/IPv6 address or a DNS name");
}

/** Directories that are never a datadir, whatever the configuration says. */
export const FORBIDDEN_DATADIRS: ReadonlySet<string> = new Set([
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib64",
  "/mnt",
  "/media",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/local",
  "/var",
  "/var/lib",
  "/var/tmp",
]);

/** A datadir path as configured: a safe absolute path that is not a system directory. */
export function checkDatadirPath(value: string, field: string): string {
  checkAbsolutePath(value, field);
  if (FORBIDDEN_DATADIRS.has(value)) refuse(field, `${value} is a system directory`);
  return value;
}
