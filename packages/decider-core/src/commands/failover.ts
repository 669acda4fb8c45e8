import type { CommandReply } from "@marina/contracts/commands";
import { acknowledgersBefore } from "../acknowledgers.js";
import { chooseCandidateNow } from "../candidates.js";
import { startOperation } from "../engine/operation.js";
import { assessPrimary } from "../evidence.js";
import { currentObservation, isKnownServer } from "../knowledge.js";
import { choiceLoss } from "../policies/all-down.js";
import type { CommandCall } from "./handler.js";
import { busy, notConfirmed, ok, refuse, unknownServer } from "./replies.js";

/** A manual failover: of a primary confirmed failed, or of a live one with `force`. */
export function failoverCommand({
  env,
  requestId,
  verb,
  payload,
}: CommandCall<"failover">): CommandReply {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const { target, force } = payload;
  if (target !== undefined && !isKnownServer(config, target))
    return unknownServer(env, verb, target, "target");
  if (state.operation) return busy(env, verb);
  const primary = state.primary;
  if (primary === null)
    return refuse(verb, "NOT_APPLICABLE", "no primary is known: nothing to fail over from");
  const a = assessPrimary(state, config, primary, now, env.opts.agentHeartbeatFreshMs);
  const down = a.verdict === "dead" || a.verdict === "unreachable-seen-by-replicas";
  if (!down && !force) {
    return refuse(
      verb,
      "PRIMARY_ALIVE",
      `${primary} is not confirmed failed (${a.verdict}: ${a.reason}); use switchover, or force`,
    );
  }
  const stale = notConfirmed(env, verb, primary, target);
  if (stale) return stale;
  const choice = chooseCandidateNow(state, config, now, primary, "failover", target ?? null);
  if (!choice.ok)
    return refuse(verb, choice.code, choice.reason, target !== undefined ? "target" : undefined);
  // After the whole cluster went down: losing what the last primary had takes acceptLoss.
  const seen = currentObservation(state, config, choice.candidate, now);
  const loss = choiceLoss(state.allDown, choice, seen);
  if (!loss.ok && !payload.acceptLoss) {
    return refuse(
      verb,
      "WOULD_LOSE_WRITES",
      `${loss.reason}; send acceptLoss: true to promote it anyway`,
    );
  }
  // After the whole cluster went down the rule is checked here, up front, as the plan will
  // before promoting: with acceptLoss, servers whose mariadbd does not listen are waived.
  if (state.allDown) {
    const acks = acknowledgersBefore(state, config, primary, now, payload.acceptLoss);
    if (!acks.ok) return refuse(verb, "ACKNOWLEDGER_UNSETTLED", acks.reason);
  }
  state.failovers.push(now);
  const op = startOperation(env, {
    kind: "failover",
    requestId,
    reason: payload.reason ?? `manual failover${force ? " (forced)" : ""} of ${primary}`,
    servers: { failed: primary, candidate: choice.candidate },
    plan: {
      kind: "failover",
      failed: primary,
      target: target ?? null,
      manual: true,
      ...(payload.acceptLoss ? { acceptLoss: true } : {}),
      // Any sign of life means it may still take writes: fence before promoting.
      fenceOld: !down,
      candidate: null,
      connection: null,
      pulls: [],
      repoint: [],
      skipped: [],
    },
  });
  const lost = loss.ok
    ? ""
    : `; acceptLoss: ${loss.missing} of ${state.allDown?.primary} will be lost`;
  return ok(
    verb,
    `failover of ${primary} started; candidate ${choice.candidate} (re-checked after inspection)${lost}`,
    { opId: op.opId },
  );
}
