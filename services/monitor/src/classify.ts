// Pure classification of a connection or query failure into the contract's error kinds.
// The decider reads `kind`: a refused or dropped connection is strong evidence the server
// process is gone; a timeout may be a frozen server or a network problem.
import type { HealthSample } from "@marina/contracts";

export type ProbeError = NonNullable<HealthSample["error"]>;
export type ErrorKind = ProbeError["kind"];

/** Thrown by the prober when its own deadline (queryTimeoutMs) passes. */
export const PROBE_TIMEOUT = "PROBE_TIMEOUT";

const REFUSED = new Set(["ECONNREFUSED"]);
const TIMEOUT = new Set([
  PROBE_TIMEOUT,
  "ER_CONNECTION_TIMEOUT",
  "ER_SOCKET_TIMEOUT",
  "ETIMEDOUT",
  "ER_GET_CONNECTION_TIMEOUT",
]);
const DROPPED = new Set([
  "ER_SOCKET_UNEXPECTED_CLOSE",
  "ECONNRESET",
  "EPIPE",
  "ER_CMD_CONNECTION_CLOSED",
  "ER_CONNECTION_ALREADY_CLOSED",
  "ER_CMD_NOT_EXECUTED_DESTROYED",
  "ER_SOCKET",
]);
const AUTH = new Set([
  "ER_ACCESS_DENIED_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_ACCESS_DENIED_NO_PASSWORD_ERROR",
  "ER_SPECIFIC_ACCESS_DENIED_ERROR",
  "ER_AUTHENTICATION_PLUGIN_NOT_SUPPORTED",
]);

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  cause?: unknown;
}

function fieldOf(err: unknown, key: keyof ErrorLike): unknown {
  return typeof err === "object" && err !== null ? (err as ErrorLike)[key] : undefined;
}

/** The most specific code: the error's own, else its cause's, else a code named in the text. */
function codeOf(err: unknown): string {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 3; depth++) {
    const code = fieldOf(e, "code");
    if (typeof code === "string" && code !== "" && code !== "UNKNOWN") return code;
    e = fieldOf(e, "cause");
  }
  const m = /\b(E[A-Z]{4,})\b/.exec(messageOf(err));
  return m?.[1] ?? "UNKNOWN";
}

function messageOf(err: unknown): string {
  const sqlMessage = fieldOf(err, "sqlMessage");
  if (typeof sqlMessage === "string" && sqlMessage !== "") return sqlMessage;
  const message = fieldOf(err, "message");
  if (typeof message === "string") return message;
  return String(err);
}

export function kindOf(code: string, errno: number | undefined): ErrorKind {
  if (REFUSED.has(code)) return "refused";
  if (TIMEOUT.has(code)) return "timeout";
  if (DROPPED.has(code)) return "dropped";
  if (AUTH.has(code) || errno === 1045 || errno === 1044 || errno === 1698) return "auth";
  // Errors the server itself sent (errno below the connector's 45000 range).
  if (errno !== undefined && errno > 0 && errno < 45000) return "sql";
  return "other";
}

export function classifyError(err: unknown): ProbeError {
  const code = codeOf(err);
  const errnoRaw = fieldOf(err, "errno");
  const errno = typeof errnoRaw === "number" ? errnoRaw : undefined;
  // The connector appends the SQL text to messages; the probe SQL is noise in an event.
  const message = messageOf(err).split("\nsql:")[0]!.slice(0, 4096);
  return { code: code.slice(0, 64), message, kind: kindOf(code, errno) };
}
