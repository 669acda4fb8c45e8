import type { CommandReply } from "@marina/contracts/commands";
import { chooseCandidateNow } from "../candidates.js";
import { startOperation } from "../engine/operation.js";
import { isKnownServer, reachability } from "../knowledge.js";
import type { CommandCall } from "./handler.js";
import { busy, notConfirmed, ok, refuse, unknownServer } from "./replies.js";

/** A planned switchover from the reachable primary to a replica (the best one, or `target`). */
export function switchoverCommand({
  env,
  requestId,
  verb,
  payload,
}: CommandCall<"switchover">): CommandReply {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const { target, force, timeoutMs } = payload;
  if (target !== undefined && !isKnownServer(config, target))
    return unknownServer(env, verb, target, "target");
  if (state.operation) return busy(env, verb);
  const primary = state.primary;
  if (primary === null) return refuse(verb, "NOT_APPLICABLE", "no primary is known");
  if (reachability(state, config, primary, now) !== "reachable") {
    return refuse(verb, "NOT_APPLICABLE", `${primary} is not reachable: use failover`);
  }
  const stale = notConfirmed(env, verb, primary, target);
  if (stale) return stale;
  const choice = chooseCandidateNow(state, config, now, primary, "switchover", target ?? null);
  if (!choice.ok)
    return refuse(verb, choice.code, choice.reason, target !== undefined ? "target" : undefined);
  const op = startOperation(env, {
    kind: "switchover",
    requestId,
    reason: payload.reason ?? `switchover from ${primary} to ${choice.candidate}`,
    servers: { old: primary, target: choice.candidate },
    plan: {
      kind: "switchover",
      old: primary,
      target: choice.candidate,
      connection: choice.connection,
      timeoutMs,
      force,
      finalPos: null,
      repoint: [],
    },
  });
  return ok(verb, `switchover from ${primary} to ${choice.candidate} started`, {
    opId: op.opId,
  });
}
