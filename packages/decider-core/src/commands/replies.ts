import type { CommandReply } from "@marina/contracts/commands";
import type { DryRunReport } from "@marina/contracts/dry-run";
import type { ErrorCode } from "@marina/contracts/errors";
import { errorBody } from "@marina/contracts/parse";
import { observedSinceChange, reachability } from "../knowledge.js";
import type { Env } from "../plans/common.js";

// The answers commands share: accepted, refused with a stable error code, and the common
// refusals (unknown server, an operation running, knowledge not yet confirmed).

export function ok(
  verb: string,
  message: string,
  extra: { opId?: string; data?: Record<string, unknown>; dryRun?: DryRunReport } = {},
): CommandReply {
  return { ok: true, verb, message, ...extra };
}

export function refuse(
  verb: string,
  code: ErrorCode,
  message: string,
  path?: string,
): CommandReply {
  return { ok: false, verb, error: errorBody(code, message, path) };
}

export function unknownServer(env: Env, verb: string, name: string, path: string): CommandReply {
  return refuse(
    verb,
    "UNKNOWN_SERVER",
    `${name} is not a server of cluster ${env.ctx.config.name}`,
    path,
  );
}

/** Only one operation runs per cluster. */
export function busy(env: Env, verb: string): CommandReply {
  const op = env.state.operation;
  return refuse(
    verb,
    "OPERATION_IN_PROGRESS",
    `${op?.kind} ${op?.opId} is running (phase ${op?.phase})`,
  );
}

/**
 * Reachable servers (among `names`) whose latest observation predates our last change to
 * them: what we know of them is how they were before, so a choice made on it could refuse
 * a good target or pick a bad one. Usually empty: operations end by inspecting what they
 * changed (confirmPhase), and the next sample settles the rest.
 */
function unconfirmed(env: Env, names: readonly string[]): string[] {
  const { state, ctx } = env;
  return names.filter(
    (n) =>
      reachability(state, ctx.config, n, ctx.now) === "reachable" && !observedSinceChange(state, n),
  );
}

/**
 * A refusal when a candidate choice would read a server not observed since our last change
 * to it (retryable: the knowledge catches up within a probe interval); null otherwise. The
 * choice reads the target only, or every server but the primary.
 */
export function notConfirmed(
  env: Env,
  verb: string,
  primary: string,
  target: string | undefined,
): CommandReply | null {
  const reads =
    target !== undefined
      ? [target]
      : env.ctx.config.servers.map((s) => s.name).filter((n) => n !== primary);
  const stale = unconfirmed(env, reads);
  if (stale.length === 0) return null;
  return refuse(
    verb,
    "NOT_CONFIRMED",
    `${stale.join(", ")} changed by the last operation and not observed since: retry in a moment`,
  );
}
