import type { ErrorBody } from "@marina/contracts/commands";
import { strictDurability } from "@marina/contracts/config";
import { contains, parseGtidList, union } from "@marina/contracts/gtid";
import { errorBody } from "@marina/contracts/parse";
import {
  type AcknowledgerVerdict,
  acknowledgersSettled,
  mayAcknowledge,
  stonithHost,
} from "../acknowledgers.js";
import { chooseCandidate, lastPrimaryDomains, type ObservationLike } from "../candidates.js";
import { divergedServers } from "../donors.js";
import { situationEvent } from "../events.js";
import { assessPrimary } from "../evidence.js";
import { readInspect } from "../inspect.js";
import { connectionsTo, currentObservation, replicationDelays } from "../knowledge.js";
import { choiceLoss } from "../policies/all-down.js";
import { noteSituation, tagOf } from "../situations.js";
import type { Operation } from "../state.js";
import { addAgentCall, callByKey } from "./agent-calls.js";
import {
  type Env,
  failedLanes,
  fenceStep,
  type Next,
  type PlanDriver,
  phaseIn,
  phaseOf,
  type StepSpec,
  semiSyncStep,
  stepsOf,
  unknownPhase,
} from "./common.js";
import {
  detachPhase,
  type FailoverPhase,
  FailoverPhases,
  failoverPlanOf,
  inspectPhase,
  promotePhase,
  pullPhase,
  repointPhase,
  useGtidOf,
} from "./failover-phases.js";
import { undoSteps } from "./failover-undo.js";
import { PRE_HOOK_PHASE, preHookPhase, preHookVerdict, vetoedEnd, vetoWarning } from "./hooks.js";

// Rule 3, failover: [pre-hook] → [fence] → inspect → drain → detach → [pull] → promote → repoint →
// [semi-sync]. The pre hooks come first (they may take minutes: nothing read before them
// is used after), told the candidate chosen from the samples; once they said yes, a
// failover whose primary is no longer failed ends there, nothing changed. The failed
// primary is fenced first only when it is reachable (a forced failover; the one fence, see
// fenceStep). The candidate is chosen
// again from FRESH inspections; it drains its relay log and pulls what a more advanced live
// replica has. Every live replica's connection to the failed primary — the candidate's and
// the others' — is stopped in ONE parallel phase (detach): on a frozen primary with
// semi-sync, each STOP SLAVE costs a fixed ~2 s (the semi-sync replica tries to reach the
// primary to end its dump thread), paid once this way instead of once per replica in turn.
// Only the connection to the failed primary is touched (a multi-source replica keeps the
// others). The candidate then drops that connection and turns read_only off, and every
// other replica is repointed. Semi-sync master is enabled last, and only when a replica
// was verified replicating from the new primary (LAB.md: with none it stalls the first
// commit for rpl_semi_sync_master_timeout); otherwise the first rejoin enables it.
//
// Drain before detach: STOP SLAVE stops the SQL thread as well, and a stopped SQL thread
// never drains, so the candidate (and each pull source) first applies what its IO thread
// had received, then stops. Nothing more can arrive from a dead primary in between; even a
// primary that was only frozen gets no chance to hand the others events the candidate
// lacks, since they are stopped in the same phase, before the promotion (earlier than the
// repoint that used to stop them).
//
// The phases that only build steps are in failover-phases.ts; the undo in failover-undo.ts.

type FailoverNext = Next<FailoverPhase>;

/**
 * Fresh inspections; where one failed but a monitor still reaches the server, its latest
 * sample stands in: a live replica must never drop out of the choice (and take the
 * transactions only it received with it) because one read failed.
 */
function views(op: Operation, env: Env): Record<string, ObservationLike | null> {
  const { config, now } = env.ctx;
  const out: Record<string, ObservationLike | null> = {};
  for (const s of stepsOf(op, "inspect")) {
    const fresh = s.status === "ok" && s.result ? readInspect(s.result.data) : null;
    out[s.server] = fresh ?? currentObservation(env.state, config, s.server, now);
  }
  return out;
}

function choose(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const { config } = env.ctx;
  const live = views(op, env);
  const choice = chooseCandidate({
    config,
    primary: p.failed,
    servers: live,
    primaryDomains: lastPrimaryDomains(env.state, p.failed),
    maintenance: Object.keys(env.state.maintenance),
    diverged: divergedServers(env.state, config),
    lastLag: env.state.lastLag,
    delays: replicationDelays(env.state),
    target: p.target,
    mode: "failover",
  });
  if (!choice.ok) {
    env.actions.push(
      situationEvent(config.name, env.ctx.epoch, "PrimaryDeadNoCandidate", p.failed, choice.reason),
    );
    return failWith(op, env, errorBody(choice.code, choice.reason));
  }
  // After the whole cluster went down, checked again on the fresh inspection (nothing was
  // changed yet): an automatic failover, or a manual one without acceptLoss, promotes only
  // a server holding what the last primary was seen to have.
  const loss = choiceLoss(env.state.allDown, choice, live[choice.candidate]);
  if (!loss.ok && !lossAccepted(p, env)) {
    return failWith(op, env, errorBody("WOULD_LOSE_WRITES", loss.reason));
  }
  p.candidate = choice.candidate;
  p.connection = choice.connection;
  p.pulls = choice.pulls;
  op.servers.candidate = choice.candidate;
  for (const s of config.servers) {
    if (s.name === p.failed || s.name === p.candidate) continue;
    const v = live[s.name];
    if (!v) {
      if (s.name in live) p.skipped.push({ server: s.name, why: "inspect failed" });
      continue;
    }
    for (const c of connectionsTo(config, v, p.failed)) {
      if (env.state.maintenance[s.name]) {
        p.skipped.push({ server: s.name, why: "in maintenance" });
        continue;
      }
      p.repoint.push({ server: s.name, connection: c.connection, useGtid: useGtidOf(c.usingGtid) });
    }
  }
  return drainPhase(op, env, `candidate ${choice.reason}`);
}

/** The failover proper, after the pre phase (if any): [fence →] inspect. */
function firstChange(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  if (!p.fenceOld) return inspectPhase(op, env);
  return phaseOf(
    "fence",
    [fenceStep(env.ctx.config, p.failed, true)],
    env.opts.phaseTimeoutMs,
    `fencing ${p.failed} (reachable, failover forced)`,
  );
}

/** The pre phase, told the candidate chosen from the samples when the failover started. */
function preHooks(op: Operation, env: Env): FailoverNext | null {
  const p = failoverPlanOf(op);
  return preHookPhase(env, PRE_HOOK_PHASE, {
    operation: "failover",
    automatic: !p.manual,
    forced: p.manual,
    old: p.failed,
    new: p.target ?? op.servers.candidate ?? null,
    reason: op.reason,
  });
}

/** A failover that changed nothing does not count for the cooldown or the window. */
function uncount(op: Operation, env: Env) {
  const i = env.state.failovers.lastIndexOf(op.startedAt);
  if (i >= 0) env.state.failovers.splice(i, 1);
}

/**
 * The pre phase may have taken minutes: the failover goes on only while its primary is
 * still failed (dead; for a failover command, also unreachable as its replicas see it, as
 * the command requires). A forced failover of a live primary fences it first and goes on.
 */
function recoveredEnd(op: Operation, env: Env): FailoverNext | null {
  const p = failoverPlanOf(op);
  if (p.fenceOld) return null;
  const { state, ctx } = env;
  const a = assessPrimary(state, ctx.config, p.failed, ctx.now, env.opts.agentHeartbeatFreshMs);
  if (a.verdict === "dead" || (p.manual && a.verdict === "unreachable-seen-by-replicas")) {
    return null;
  }
  uncount(op, env);
  const error = errorBody(
    a.verdict === "healthy" ? "PRIMARY_ALIVE" : "NOT_APPLICABLE",
    `${p.failed} is no longer confirmed failed after the pre hooks (${a.verdict}: ${a.reason})`,
  );
  const again = p.manual ? " (fail over again, with force for a live primary)" : "";
  return { kind: "failed", error, message: `${error.message}; nothing was changed${again}` };
}

/**
 * After the pre phase (or its deadline): a failover whose primary recovered meanwhile ends;
 * an automatic failover a hook or a responder blocked ends here, with nothing changed; a
 * failover command goes on (the verdict stays a warning).
 */
function afterPreHooks(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const recovered = recoveredEnd(op, env);
  if (recovered) return recovered;
  const v = preHookVerdict(op);
  if (!v.blocked || p.manual) return firstChange(op, env);
  const { state, ctx } = env;
  const hold = ctx.config.hooks.vetoHoldMs;
  state.vetoHold = {
    primary: p.failed,
    until: ctx.now + hold,
    opId: op.opId,
    reason: v.reason.slice(0, 1024),
    details: v.details,
  };
  // A vetoed attempt changed nothing: it does not count for the cooldown or the window.
  uncount(op, env);
  const reason = `${v.reason}; automatic failover held for ${hold} ms (hooks.vetoHoldMs), then tried again`;
  env.actions.push(
    situationEvent(ctx.config.name, ctx.epoch, "FailoverBlocked", p.failed, reason, {
      details: {
        code: "veto",
        opId: op.opId,
        candidate: p.target ?? op.servers.candidate ?? null,
        ...v.details,
      },
    }),
  );
  noteSituation(state, p.failed, tagOf("FailoverBlocked", "veto"));
  return vetoedEnd("failover", v);
}

function drainPhase(op: Operation, env: Env, message: string): FailoverNext {
  const p = failoverPlanOf(op);
  const f = env.ctx.config.failover;
  const steps: StepSpec[] = [
    {
      key: "drain",
      server: p.candidate!,
      step: { kind: "drain-relay-log", connection: p.connection!, timeoutMs: f.drainTimeoutMs },
    },
    // A pull source must have applied (and so binlogged) what it received. Not a delayed
    // one: it serves only what it applied already (its pull stops there), and its relay log
    // would not be applied within any drain timeout.
    ...p.pulls
      .filter((x) => !replicationDelays(env.state)[x.from]?.[x.connection])
      .map((x) => ({
        key: `drain-${x.from}`,
        server: x.from,
        step: {
          kind: "drain-relay-log" as const,
          connection: x.connection,
          timeoutMs: f.drainTimeoutMs,
        },
      })),
  ];
  return phaseOf("drain", steps, f.drainTimeoutMs + env.opts.stepReplyMarginMs, message);
}

/** Key of the STONITH agent call. */
const STONITH = "stonith";

/**
 * STONITH, right before the promotion (after drain, detach and pull, so a failover that
 * fails earlier has killed nothing): when the failed primary's host agent answers, it
 * kills that mariadbd — frozen, hung or cut off from everything but its host — so it can
 * never acknowledge another write. Best effort: the rule then decides.
 */
function beforePromote(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const host =
    p.fenceOld || callByKey(op, STONITH)
      ? null
      : stonithHost(env.state, env.ctx.config, p.failed, env.ctx.now, env.opts);
  if (host === null) return promoteIfSettled(op, env);
  addAgentCall(op, {
    key: STONITH,
    phase: "stonith",
    host,
    server: p.failed,
    action: { action: "kill-server", server: p.failed },
    bestEffort: true,
    timeoutMs: env.opts.stonithTimeoutMs,
  });
  return phaseOf(
    "stonith",
    [],
    env.opts.stonithTimeoutMs + env.opts.stepReplyMarginMs,
    `STONITH: ${host} kills ${p.failed}'s mariadbd before ${p.candidate} is promoted`,
  );
}

/**
 * The rule before the promotion (acknowledgers.ts): every server other than the failed
 * primary and the candidate was detached by this failover (all its STOP SLAVEs succeeded),
 * or cannot hold or give the failed primary's acknowledgements.
 */
function acknowledgersNow(op: Operation, env: Env): AcknowledgerVerdict {
  const p = failoverPlanOf(op);
  const { config, now } = env.ctx;
  const candidate = p.candidate ? views(op, env)[p.candidate] : null;
  const held = candidate
    ? union(
        parseGtidList(candidate.gtidCurrentPos),
        ...candidate.replication.map((c) => parseGtidList(c.gtidIoPos)),
      )
    : [];
  const candidateHolds = (pos: string) => contains(held, parseGtidList(pos));
  const maybe: { server: string; why: string }[] = [];
  for (const s of config.servers) {
    if (s.name === p.failed || s.name === p.candidate) continue;
    const detach = stepsOf(op, "detach").filter((x) => x.server === s.name);
    if (detach.length > 0) {
      if (!detach.every((x) => x.status === "ok")) {
        maybe.push({ server: s.name, why: "its STOP SLAVE did not succeed" });
      }
      continue;
    }
    const why = mayAcknowledge(
      env.state,
      config,
      s.name,
      p.failed,
      now,
      candidateHolds,
      lossAccepted(p, env),
    );
    if (why !== null) maybe.push({ server: s.name, why });
  }
  return acknowledgersSettled({
    failed: p.failed,
    semiSync: config.semiSync !== false,
    maybeAcknowledging: maybe,
  });
}

/**
 * After the whole cluster went down, whether this failover may lose what only the last
 * primary (and servers still down) had: a manual one with acceptLoss, an automatic one under
 * failover.allDown's policy that names the risk.
 */
function lossAccepted(p: ReturnType<typeof failoverPlanOf>, env: Env): boolean {
  if (!env.state.allDown) return false;
  return p.manual
    ? p.acceptLoss === true
    : env.ctx.config.failover.allDown === "promoteMostAdvancedMayLoseWrites";
}

/** Promotes only when no replica is left acknowledging the failed primary. */
function promoteIfSettled(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const v = acknowledgersNow(op, env);
  if (!v.ok) {
    env.actions.push(
      situationEvent(env.ctx.config.name, env.ctx.epoch, "FailoverBlocked", p.failed, v.reason),
    );
    // The attempt counts for the cooldown like any failover: retrying at once would only
    // detach and undo again while nothing changed.
    return failWith(op, env, errorBody("ACKNOWLEDGER_UNSETTLED", v.reason));
  }
  p.settled = v.reason;
  return promotePhase(op, env);
}

/** The candidate is the primary from here on, whatever happens next. */
function adoptCandidate(op: Operation, env: Env) {
  const p = failoverPlanOf(op);
  const c = p.candidate!;
  if (env.state.primary === c) return;
  env.state.primary = c;
  env.state.exPrimaries[p.failed] = {
    since: env.ctx.now,
    opId: op.opId,
    reason: `failed over to ${c}; rejoined only when proven to be behind ${c}`,
  };
}

/** Replicas verified replicating from the new primary by the repoint. */
function verifiedReplicas(op: Operation): string[] {
  const p = failoverPlanOf(op);
  return p.repoint
    .filter((r) =>
      stepsOf(op, "repoint").some(
        (s) =>
          s.server === r.server &&
          s.step.kind === "verify-replicating" &&
          s.step.connection === r.connection &&
          s.status === "ok",
      ),
    )
    .map((r) => r.server);
}

function finalMessage(op: Operation, env: Env): { failed: string[]; message: string } {
  const p = failoverPlanOf(op);
  const failed = failedLanes(op, "repoint");
  const skipped = p.skipped.map((s) => `${s.server} (${s.why})`);
  const repointed = verifiedReplicas(op);
  const stonith = callByKey(op, STONITH);
  const parts = [
    `${p.candidate} promoted in place of ${p.failed}`,
    `repointed: ${repointed.join(", ") || "none"}`,
  ];
  if (stonith) {
    const killed = stonith.result?.data?.killed;
    parts.push(
      stonith.status === "ok"
        ? `STONITH through ${stonith.host}: ${killed === true ? `${p.failed}'s mariadbd killed` : `${p.failed}'s mariadbd was not running`}`
        : `STONITH through ${stonith.host} failed (${stonith.result?.error?.message ?? stonith.status})`,
    );
  }
  if (p.settled) parts.push(`promoted because ${p.settled}`);
  const warning = vetoWarning(op);
  if (warning) parts.push(warning);
  if (strictDurability(env.ctx.config)) {
    parts.push(
      `semi-sync master on (strict) since the promotion${repointed.length === 0 ? `: writes on ${p.candidate} wait until a replica replicates from it` : ""}`,
    );
  } else if (env.ctx.config.semiSync && repointed.length === 0) {
    parts.push(
      `semi-sync master left off on ${p.candidate} (no replica replicates from it yet; enabled when one rejoins)`,
    );
  }
  if (failed.length) parts.push(`NOT repointed: ${failed.join("; ")}`);
  if (skipped.length) parts.push(`left alone: ${skipped.join(", ")}`);
  return { failed, message: parts.join("; ") };
}

function failWith(op: Operation, env: Env, error: ErrorBody): FailoverNext {
  return failoverDriver.fail(op, env, error);
}

export const failoverDriver: PlanDriver<FailoverPhase> = {
  next(op, env) {
    const p = failoverPlanOf(op);
    const phase = phaseIn(op, FailoverPhases);
    switch (phase) {
      case "":
        return preHooks(op, env) ?? firstChange(op, env);
      case "pre-hook":
        return afterPreHooks(op, env);
      case "fence":
        return inspectPhase(op, env);
      case "inspect":
        return choose(op, env);
      case "drain":
        return detachPhase(op, env);
      case "detach":
        return p.pulls.length ? pullPhase(op, env) : beforePromote(op, env);
      case "pull":
        return beforePromote(op, env);
      case "stonith":
        return promoteIfSettled(op, env);
      case "promote":
        adoptCandidate(op, env);
        return repointPhase(op, env);
      case "repoint": {
        // Not without a replica: the first commit would wait rpl_semi_sync_master_timeout.
        // Strict durability turned it on at the promotion already.
        if (
          env.ctx.config.semiSync &&
          !strictDurability(env.ctx.config) &&
          verifiedReplicas(op).length > 0
        ) {
          return phaseOf(
            "semi-sync",
            [
              {
                key: "semi",
                server: p.candidate!,
                step: semiSyncStep(env.ctx.config, { master: true }),
              },
            ],
            env.opts.phaseTimeoutMs,
            `enabling semi-sync master on ${p.candidate}`,
          );
        }
        return done(op, env);
      }
      case "semi-sync":
        return done(op, env);
      case "undo":
        return {
          kind: "failed",
          error: op.error ?? errorBody("INTERNAL", "failover undone"),
          message: `failover undone: ${op.error?.message ?? ""}`,
        };
      case null:
        return unknownPhase(op);
      default: {
        const never: never = phase;
        return never;
      }
    }
  },

  fail(op, env, error) {
    const p = failoverPlanOf(op);
    // The pre phase ran out of time (a hook's executor lost and its retry too slow): the
    // steps left unanswered count as a no — obeyed by an automatic failover, recorded by a
    // failover command, which goes on. Nothing was changed to undo.
    if (op.phase === PRE_HOOK_PHASE && error.code !== "CANCELLED") {
      return afterPreHooks(op, env);
    }
    if (op.status === "undoing") {
      return {
        kind: "failed",
        error: op.error ?? error,
        message: `failover failed (${op.error?.message}); undo incomplete: ${error.message}`,
      };
    }
    if (op.promoted) {
      // Never undo after promotion: two writable primaries are worse than a half-done one.
      adoptCandidate(op, env);
      return {
        kind: "failed",
        error,
        message: `${p.candidate} was promoted but the failover did not finish: ${error.message}`,
      };
    }
    const undo = undoSteps(op, p);
    if (undo.length === 0) {
      return {
        kind: "failed",
        error,
        message: `failover failed before promotion: ${error.message}`,
      };
    }
    op.status = "undoing";
    op.error = error;
    return phaseOf(
      "undo",
      undo,
      env.opts.phaseTimeoutMs,
      `failover failed before promotion (${error.message}); undoing`,
    );
  },
};

function done(op: Operation, env: Env): FailoverNext {
  const { failed, message } = finalMessage(op, env);
  if (failed.length) {
    const first = stepsOf(op, "repoint").find((s) => s.status === "failed")?.result?.error;
    return { kind: "failed", error: errorBody(first?.code ?? "SQL_ERROR", message), message };
  }
  return { kind: "done", message };
}
