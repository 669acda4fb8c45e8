// One table for what the mariadb connector (or node's socket layer) throws, read two ways:
// the monitor reports a probe failure's `kind` in health samples; the executor turns a
// failure into a MarinaError (SERVER_UNREACHABLE is retryable, SQL_ERROR is not). Pure.
//
// `kind` says what the failure is evidence of: refused or dropped = the server process is
// probably gone; timeout = cannot tell (frozen server, or the network); auth/sql = the server
// is alive and answered. `link` = the failure is about the connection, not the statement:
// retrying on a new connection may succeed.
import { type HealthSample, MarinaError } from "@marina/contracts";

export type FailureKind = NonNullable<HealthSample["error"]>["kind"];
export type ProbeError = NonNullable<HealthSample["error"]>;

export interface FailureRule {
  readonly kind: FailureKind;
  readonly link: boolean;
}

const REFUSED: FailureRule = { kind: "refused", link: true };
const TIMEOUT: FailureRule = { kind: "timeout", link: true };
const DROPPED: FailureRule = { kind: "dropped", link: true };
const AUTH: FailureRule = { kind: "auth", link: false };
/** The server answered, but cannot serve a session now. */
const BUSY: FailureRule = { kind: "sql", link: true };

/** Thrown by a caller's own deadline (the monitor's queryTimeoutMs) around a query. */
export const PROBE_TIMEOUT = "PROBE_TIMEOUT";

/** By `code`: node's socket errors and the connector's own (errno 45000-45999). */
export const FAILURES_BY_CODE: Readonly<Record<string, FailureRule>> = {
  ECONNREFUSED: REFUSED,
  [PROBE_TIMEOUT]: TIMEOUT,
  ETIMEDOUT: TIMEOUT,
  ER_CONNECTION_TIMEOUT: TIMEOUT,
  ER_SOCKET_TIMEOUT: TIMEOUT,
  ER_GET_CONNECTION_TIMEOUT: TIMEOUT,
  ER_INITIAL_TIMEOUT_ERROR: TIMEOUT,
  ER_PING_TIMEOUT: TIMEOUT,
  // No route, no such host: the network, not the server; like a timeout, it cannot tell.
  EHOSTUNREACH: TIMEOUT,
  ENETUNREACH: TIMEOUT,
  EHOSTDOWN: TIMEOUT,
  ENOTFOUND: TIMEOUT,
  EAI_AGAIN: TIMEOUT,
  ECONNRESET: DROPPED,
  EPIPE: DROPPED,
  ER_SOCKET: DROPPED,
  ER_SOCKET_UNEXPECTED_CLOSE: DROPPED,
  ER_CMD_CONNECTION_CLOSED: DROPPED,
  ER_CONNECTION_ALREADY_CLOSED: DROPPED,
  ER_CMD_NOT_EXECUTED_DESTROYED: DROPPED,
  ER_ACCESS_DENIED_ERROR: AUTH,
  ER_DBACCESS_DENIED_ERROR: AUTH,
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: AUTH,
  ER_SPECIFIC_ACCESS_DENIED_ERROR: AUTH,
  ER_AUTHENTICATION_PLUGIN_NOT_SUPPORTED: AUTH,
};

/** By server `errno`, when the code is not in the table above. */
export const FAILURES_BY_ERRNO: Readonly<Record<number, FailureRule>> = {
  1040: BUSY, // too many connections
  1044: AUTH, // access denied to the database
  1045: AUTH, // access denied (password)
  1053: DROPPED, // server shutdown in progress: it is going away
  1227: AUTH, // needs a privilege (SUPER, ...)
  1698: AUTH, // access denied without password
  1927: DROPPED, // this connection was killed
  2002: REFUSED, // client library: cannot connect through the socket
  2003: REFUSED, // client library: cannot connect to the server
  2006: DROPPED, // client library: server has gone away
  2013: DROPPED, // client library: lost connection during query
};

const SQL: FailureRule = { kind: "sql", link: false };
const OTHER: FailureRule = { kind: "other", link: false };

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  cause?: unknown;
}

function fieldOf(err: unknown, key: keyof ErrorLike): unknown {
  return typeof err === "object" && err !== null ? (err as ErrorLike)[key] : undefined;
}

/** The first value of `key` on the error or its causes (a few levels). */
function deepField(err: unknown, key: keyof ErrorLike, ok: (v: unknown) => boolean): unknown {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    const v = fieldOf(e, key);
    if (ok(v)) return v;
    e = fieldOf(e, "cause");
  }
  return undefined;
}

/** The server's or the connector's text, first line only: no statement, no parameter. */
function messageOf(err: unknown): string {
  const sqlMessage = fieldOf(err, "sqlMessage");
  const message = fieldOf(err, "message");
  const full =
    typeof sqlMessage === "string" && sqlMessage !== ""
      ? sqlMessage
      : typeof message === "string"
        ? message
        : String(err);
  return (full.split("\n")[0] ?? "").slice(0, 4096);
}

export interface DriverFailure extends FailureRule {
  /** The most specific code: the error's own, a cause's, one named in the text, or UNKNOWN. */
  readonly code: string;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;
  readonly message: string;
}

/** True for errno values the server itself sends (the connector's are 45000 and up). */
export function isServerErrno(errno: number | undefined): errno is number {
  return errno !== undefined && errno > 0 && errno < 45000;
}

export function classifyDriverError(err: unknown): DriverFailure {
  const codeField = deepField(
    err,
    "code",
    (v) => typeof v === "string" && v !== "" && v !== "UNKNOWN",
  );
  const message = messageOf(err);
  const code =
    typeof codeField === "string"
      ? codeField
      : (/\b(E[A-Z]{4,})\b/.exec(message)?.[1] ?? "UNKNOWN");
  const errnoField = deepField(err, "errno", (v) => typeof v === "number");
  const errno = typeof errnoField === "number" ? errnoField : undefined;
  const state = fieldOf(err, "sqlState");
  const rule =
    FAILURES_BY_CODE[code] ??
    (errno !== undefined ? FAILURES_BY_ERRNO[errno] : undefined) ??
    (isServerErrno(errno) ? SQL : OTHER);
  return {
    ...rule,
    code,
    errno,
    sqlState: typeof state === "string" ? state : undefined,
    message,
  };
}

/** The monitor's reading: the health sample's `error`. */
export function probeErrorOf(err: unknown): ProbeError {
  const f = classifyDriverError(err);
  return { code: f.code.slice(0, 64), message: f.message, kind: f.kind };
}

/**
 * Server errors that mean the account lacks a privilege (not a bad password: 1045 stays an
 * SQL error): 1227 "you need (at least one of) the … privilege(s)", 1142/1143 table or
 * column access denied, 1044 database access denied, 1095 "you are not owner of thread"
 * (KILL without CONNECTION ADMIN).
 */
export const PRIVILEGE_ERRNOS: ReadonlySet<number> = new Set([1044, 1095, 1142, 1143, 1227]);

/**
 * The executor's reading, a MarinaError: SERVER_UNREACHABLE (retryable) for the link,
 * MISSING_PRIVILEGE or SQL_ERROR with the errno for what the server refused, INTERNAL for
 * anything else.
 * `what` names the server, e.g. `db2 (127.0.0.1:3307)`. MarinaErrors pass through.
 */
export function marinaErrorOf(err: unknown, what: string): MarinaError {
  if (err instanceof MarinaError) return err;
  const f = classifyDriverError(err);
  const opts = { cause: err };
  if (f.link) return new MarinaError("SERVER_UNREACHABLE", `${what}: ${f.message}`, opts);
  if (isServerErrno(f.errno)) {
    const state = f.sqlState !== undefined ? ` (${f.sqlState})` : "";
    const code = PRIVILEGE_ERRNOS.has(f.errno) ? "MISSING_PRIVILEGE" : "SQL_ERROR";
    return new MarinaError(code, `${what}: error ${f.errno}${state}: ${f.message}`, opts);
  }
  return new MarinaError("INTERNAL", `${what}: ${f.message}`, opts);
}

/** The server errno of a driver error, or of the error a MarinaError wraps, if any. */
export function errnoOf(err: unknown): number | undefined {
  const v = deepField(err, "errno", (x) => typeof x === "number");
  return typeof v === "number" ? v : undefined;
}
