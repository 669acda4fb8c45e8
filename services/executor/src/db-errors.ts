// Turns whatever the mariadb connector (or node's socket layer) threw into a MarinaError.
// Pure. The connector's `message` appends the SQL text; only the server's own message
// (`sqlMessage`) is used, so no statement (and no parameter) reaches a reply or a log.
import { MarinaError } from "@marina/contracts";

interface DriverErrorShape {
  errno?: unknown;
  code?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
}

// Server errors that say "this server is going away / cannot serve you now".
const SERVER_GONE_ERRNOS = new Set([
  1040, // too many connections
  1053, // server shutdown in progress
  1927, // connection was killed
  2002, // can't connect through socket
  2003, // can't connect to server
  2006, // server has gone away
  2013, // lost connection during query
]);

// Connector errors (45000-45999) that are about the link, not the statement.
const LINK_DRIVER_CODES = new Set([
  "ER_CONNECTION_ALREADY_CLOSED",
  "ER_CMD_NOT_EXECUTED_DESTROYED",
  "ER_SOCKET_UNEXPECTED_CLOSE",
  "ER_CONNECTION_TIMEOUT",
  "ER_CMD_CONNECTION_CLOSED",
  "ER_SOCKET",
  "ER_SOCKET_TIMEOUT",
  "ER_GET_CONNECTION_TIMEOUT",
  "ER_INITIAL_TIMEOUT_ERROR",
  "ER_PING_TIMEOUT",
]);

const NODE_NET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

function shape(err: unknown): DriverErrorShape {
  return typeof err === "object" && err !== null ? (err as DriverErrorShape) : {};
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/** `what` names the server for the message, e.g. `db2 (127.0.0.1:3307)`. */
export function classifyDbError(err: unknown, what: string): MarinaError {
  if (err instanceof MarinaError) return err;
  const e = shape(err);
  const errno = typeof e.errno === "number" ? e.errno : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  const serverText =
    typeof e.sqlMessage === "string" && e.sqlMessage !== ""
      ? e.sqlMessage
      : typeof e.message === "string"
        ? firstLine(e.message)
        : String(err);
  const opts = { cause: err };
  if (
    (code !== undefined && (NODE_NET_CODES.has(code) || LINK_DRIVER_CODES.has(code))) ||
    (errno !== undefined && SERVER_GONE_ERRNOS.has(errno))
  ) {
    return new MarinaError("SERVER_UNREACHABLE", `${what}: ${serverText}`, opts);
  }
  if (errno !== undefined && errno > 0 && errno < 45000) {
    const state = typeof e.sqlState === "string" ? ` (${e.sqlState})` : "";
    return new MarinaError("SQL_ERROR", `${what}: error ${errno}${state}: ${serverText}`, opts);
  }
  return new MarinaError("INTERNAL", `${what}: ${serverText}`, opts);
}

/** The server errno of a driver error (or of the error a MarinaError wraps), if any. */
export function errnoOf(err: unknown): number | undefined {
  const e = shape(err);
  if (typeof e.errno === "number") return e.errno;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return err instanceof MarinaError && cause !== undefined ? errnoOf(cause) : undefined;
}
