import type { CommandPayload, CommandReply } from "@marina/contracts/commands";
import { type CandidateInput, chooseCandidateNow } from "../candidates.js";
import { startOperation } from "../engine/operation.js";
import { isKnownServer, reachability } from "../knowledge.js";
import type { CommandCall } from "./handler.js";
import { busy, notConfirmed, ok, refuse, unknownServer } from "./replies.js";
import {
  longTransaction,
  type PreCheckFailure,
  replicasLeftWithoutSource,
  targetPreChecks,
} from "./switchover-checks.js";

/** One refusal for all failed pre-checks: the first one's code, every reason. */
function refusePreChecks(
  verb: string,
  failed: readonly PreCheckFailure[],
  path: string | undefined,
): CommandReply {
  const [first] = failed;
  if (!first) throw new Error("refusePreChecks without a failure");
  const reasons = failed.map((f) => (failed.length > 1 ? `${f.code}: ${f.reason}` : f.reason));
  return refuse(verb, first.code, `switchover pre-check: ${reasons.join("; ")}`, path);
}

/** What a forced switchover to a named target lifts from the candidate choice. */
export function switchoverWaive(p: CommandPayload<"switchover">): CandidateInput["waive"] {
  // Never neverPromote: a delayed or DR replica marked so is not promoted by a switchover,
  // forced or not (force once meant only "kill privileged sessions too").
  return p.force && p.target !== undefined ? { maintenance: true, lag: true } : undefined;
}

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
  // Pre-checks (switchover-checks.ts): each refuses with its code; `force` overrides them.
  if (force && target !== undefined) {
    const never = targetPreChecks(state, config, now, primary, target).filter(
      (f) => f.code === "TARGET_NEVER_PROMOTE",
    );
    if (never[0]) return refusePreChecks(verb, never, "target");
  }
  if (!force) {
    const onTarget =
      target !== undefined ? targetPreChecks(state, config, now, primary, target) : [];
    const trx = longTransaction(state, config, now, primary);
    const failed = trx ? [...onTarget, trx] : onTarget;
    if (failed[0]) return refusePreChecks(verb, failed, onTarget[0] ? "target" : undefined);
  }
  const waive = switchoverWaive(payload);
  const choice = chooseCandidateNow(
    state,
    config,
    now,
    primary,
    "switchover",
    target ?? null,
    waive,
  );
  if (!choice.ok)
    return refuse(verb, choice.code, choice.reason, target !== undefined ? "target" : undefined);
  const left = replicasLeftWithoutSource(state, config, now, primary, choice.candidate);
  if (left && !force) return refusePreChecks(verb, [left], undefined);
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
