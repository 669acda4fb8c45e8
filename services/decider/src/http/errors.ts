// Errors of the HTTP API: the same codes as NATS replies (docs/errors.md), as JSON
// `{ok: false, error: {code, message, path?, retryable}}`, with an HTTP status per code.
import { type ErrorBody, type ErrorCode, errorBody } from "@marina/contracts";
import type { FastifyReply } from "fastify";

/** The HTTP status of an error code: one table, like the codes themselves. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case "BAD_JSON":
    case "VALIDATION_FAILED":
    case "GTID_PARSE":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "UNKNOWN_COMMAND":
    case "UNKNOWN_CLUSTER":
    case "UNKNOWN_SERVER":
    case "NOT_FOUND":
      return 404;
    case "NOT_LEADER":
    case "LEASE_UNAVAILABLE":
    case "SERVER_UNREACHABLE":
      return 503;
    case "TIMEOUT":
      return 504;
    case "INTERNAL":
      return 500;
    default:
      // A command the decider refused (PRIMARY_ALIVE, COOLDOWN, OPERATION_IN_PROGRESS, …).
      return 409;
  }
}

/** Sends `error` with its status; `verb` when it answers a command. */
export function sendError(reply: FastifyReply, error: ErrorBody, verb?: string): FastifyReply {
  return reply
    .code(httpStatusOf(error.code))
    .send({ ok: false, ...(verb !== undefined ? { verb } : {}), error });
}

export function fail(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  path?: string,
): FastifyReply {
  return sendError(reply, errorBody(code, message, path));
}
