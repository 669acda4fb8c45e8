import type { ErrorBody } from "@marina/contracts/commands";
import type { ErrorCode } from "@marina/contracts/errors";
import { errorBody } from "@marina/contracts/parse";
import { situationEvent } from "../events.js";
import { currentObservation, reachability, sourceOf } from "../knowledge.js";
import { noteSituation } from "../situations.js";
import type { AgentCall, Operation } from "../state.js";
import { addAgentCall, callByKey, mayBeRunning } from "./agent-calls.js";
import { type Env, type Next, phaseOf, type StepSpec, stepsOf } from "./common.js";
import { type RebuildPhase, rebuildOptions, rebuildPlanOf } from "./rebuild-plan.js";

// A rebuild that failed or was cancelled: both agents are told to cancel (abort), the donor
// — a replica — is checked to replicate again (recover), and a target whose datadir was
// touched stays flagged diverged for another rebuild.

export function abortRebuild(op: Operation, env: Env, error: ErrorBody): Next<RebuildPhase> {
  const p = rebuildPlanOf(op);
  if (op.status === "undoing") {
    return failedEnd(op, env, `; cleanup incomplete: ${error.message}`);
  }
  op.status = "undoing";
  op.error = error;
  const recv = callByKey(op, "receive");
  if (targetTouched(recv)) flagTarget(op, env, error);
  if (p.auto) env.state.rebuildFailures[p.target] = env.ctx.now;
  const ro = rebuildOptions(env.opts);
  let cancels = 0;
  for (const c of [recv, callByKey(op, "send")]) {
    if (!c || !mayBeRunning(c)) continue;
    // The agent's cancel answers once the operation ended there (donor replication restored).
    addAgentCall(op, {
      key: `cancel-${c.key}`,
      phase: "abort",
      host: c.host,
      server: c.server,
      action: { action: "cancel", opId: c.id },
      bestEffort: true,
      timeoutMs: ro.agentReplyTimeoutMs,
    });
    cancels += 1;
  }
  if (cancels > 0) {
    return phaseOf(
      "abort",
      [],
      ro.agentReplyTimeoutMs + env.opts.stepReplyMarginMs,
      `rebuild ${error.code === "CANCELLED" ? "cancelled" : "failed"} (${error.message}): cancelling on the agents`,
    );
  }
  return recoverPhase(op, env) ?? failedEnd(op, env);
}

/** The donor's replication connections to check after a failure (the default one if unknown). */
function donorConnections(env: Env, donor: string): string[] {
  const { config, now } = env.ctx;
  const obs = currentObservation(env.state, config, donor, now) ??
    env.state.lastObservation[donor]?.observation ?? { replication: [] };
  const conns = obs.replication
    .filter((c) => sourceOf(config, c) !== null)
    .map((c) => c.connection);
  return conns.length ? conns : [""];
}

// Refused before the target's agent changed anything (guard, busy, bad request, no agent).
const UNTOUCHED: ReadonlySet<ErrorCode> = new Set([
  "REFUSED",
  "VALIDATION_FAILED",
  "BAD_JSON",
  "UNKNOWN_SERVER",
  "OPERATION_IN_PROGRESS",
  "STALE_EPOCH",
  "FUTURE_EPOCH",
  "LEASE_UNAVAILABLE",
  "NOT_LEADER",
  "SERVER_UNREACHABLE",
]);

/** The target's agent may have stopped the server or emptied its datadir. */
function targetTouched(c: AgentCall | undefined): boolean {
  if (!c || c.attempts === 0) return false;
  if (c.status === "failed" && c.reply === null) {
    const code = c.result?.error?.code;
    return code === undefined || !UNTOUCHED.has(code);
  }
  return true;
}

/** A failed rebuild leaves the target flagged: it needs another rebuild. */
function flagTarget(op: Operation, env: Env, error: ErrorBody) {
  const p = rebuildPlanOf(op);
  const { state, ctx } = env;
  const dv = state.diverged[p.target];
  const situation =
    dv?.situation ?? (state.exPrimaries[p.target] ? "OldPrimaryDiverged" : "ServerDiverged");
  const reason = `rebuild ${op.opId} from ${p.source} failed (${error.code}); its datadir may be incomplete: rebuild it again`;
  state.diverged[p.target] = {
    since: dv?.since ?? ctx.now,
    extraGtids: dv?.extraGtids ?? "",
    reason,
    situation,
  };
  delete state.exPrimaries[p.target];
  if (!(state.situations[p.target] ?? []).includes(situation)) {
    noteSituation(state, p.target, situation);
    env.actions.push(
      situationEvent(ctx.config.name, ctx.epoch, situation, p.target, reason, {
        extraGtids: dv?.extraGtids || null,
        details: { opId: op.opId, source: p.source },
      }),
    );
  }
}

export function recoverPhase(op: Operation, env: Env): Next<RebuildPhase> | null {
  const p = rebuildPlanOf(op);
  const send = callByKey(op, "send");
  if (p.sourceIsPrimary || !send || send.attempts === 0) return null;
  const { state, ctx } = env;
  // With the primary gone a replica cannot be seen replicating: restart its threads only.
  const primaryUp =
    state.primary !== null &&
    reachability(state, ctx.config, state.primary, ctx.now) === "reachable";
  // The donor's agent restarts the SQL threads mariadb-backup stopped; make sure of it.
  const steps: StepSpec[] = donorConnections(env, p.source).flatMap((connection): StepSpec[] => [
    {
      key: `start-${connection}`,
      server: p.source,
      step: { kind: "start-replication", connection },
      bestEffort: true,
    },
    ...(primaryUp
      ? [
          {
            key: `verify-${connection}`,
            server: p.source,
            step: {
              kind: "verify-replicating" as const,
              connection,
              timeoutMs: env.opts.verifyTimeoutMs,
            },
            after: [`start-${connection}`],
            bestEffort: true,
          },
        ]
      : []),
  ]);
  return phaseOf(
    "recover",
    steps,
    env.opts.phaseTimeoutMs,
    `checking that ${p.source} replicates again`,
  );
}

export function failedEnd(op: Operation, env: Env, extra = ""): Next<RebuildPhase> {
  const p = rebuildPlanOf(op);
  const error = op.error ?? errorBody("INTERNAL", "rebuild failed");
  const flagged = env.state.diverged[p.target] !== undefined;
  const verifies = stepsOf(op, "recover").filter((s) => s.step.kind === "verify-replicating");
  const donor =
    verifies.length === 0
      ? ""
      : verifies.every((s) => s.status === "ok")
        ? `; ${p.source} replicates again`
        : `; ${p.source} does NOT replicate: ${verifies.map((s) => s.result?.error?.message ?? s.status).join("; ")}`;
  return {
    kind: "failed",
    error,
    message: `rebuild of ${p.target} from ${p.source} ${error.code === "CANCELLED" ? "cancelled" : "failed"}: ${error.message}; ${p.target} ${flagged ? "stays flagged for a rebuild" : "was not changed"}${donor}${extra}`,
  };
}
