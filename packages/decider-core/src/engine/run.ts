import type { ErrorBody } from "@marina/contracts/commands";
import type { OperationState } from "@marina/contracts/operations";
import { errorBody } from "@marina/contracts/parse";
import { historyAction, operationRecord } from "../history.js";
import { isFinal } from "../plans/agent-calls.js";
import { type Env, type Next, type PlanDriver, stepsOf } from "../plans/common.js";
import type { Operation } from "../state.js";
import { replyTimeoutMs } from "../steps.js";
import { dispatch } from "./dispatch.js";
import { emitOperation } from "./emit.js";
import { postHookNote, postHookOf, startPostHook } from "./post-hooks.js";

// Running a plan: install the phase its driver returns, send what can be sent, and ask the
// driver again once the phase is over (or for its failure path when a step is refused).

/** The plan of the operation's kind, from the registry the engine was given (env.plans). */
export function driverOf(env: Env, op: Operation): PlanDriver {
  const driver = env.plans[op.plan.kind];
  if (!driver) throw new Error(`no driver for ${String(op.kind)}`);
  return driver;
}

/**
 * The operation ends: its end published, its record stored, the operation cleared — and
 * then its post hook, if one is configured, sent detached from it (post-hooks.ts).
 */
function finish(
  op: Operation,
  env: Env,
  state: Exclude<OperationState, "running">,
  text: string,
  error: ErrorBody | null,
) {
  const post = postHookOf(op, env, state, error);
  const message = post ? `${text}; ${postHookNote(post)}` : text;
  if (op.phase !== "" && !(op.phase in op.timings)) recordTiming(op, env.ctx.now);
  op.timings.total = env.ctx.now - op.startedAt;
  emitOperation(op, env, state, message, error);
  const record = operationRecord(op, env, state, message, error);
  env.actions.push(historyAction(record));
  env.state.history.push({
    opId: op.opId,
    kind: op.kind,
    state,
    startedAt: op.startedAt,
    endedAt: env.ctx.now,
    message: message.slice(0, 1024),
    servers: op.servers,
  });
  const extra = env.state.history.length - env.opts.historySize;
  if (extra > 0) env.state.history.splice(0, extra);
  if (env.state.operation?.opId === op.opId) env.state.operation = null;
  if (post) startPostHook(env, op.opId, post, record);
}

function installPhase(op: Operation, env: Env, n: Extract<Next, { kind: "phase" }>) {
  const { now } = env.ctx;
  op.phase = n.phase;
  op.phaseStartedAt = now;
  op.phaseDeadline = n.deadlineMs === null ? null : now + n.deadlineMs;
  const ids = new Map<string, string>();
  for (const spec of n.steps) {
    op.seq += 1;
    const id = `${op.opId}-${op.seq}`;
    ids.set(spec.key, id);
    op.steps.push({
      id,
      key: spec.key,
      phase: n.phase,
      server: spec.server,
      step: spec.step,
      after: (spec.after ?? []).map((k) => {
        const dep = ids.get(k);
        if (dep === undefined) throw new Error(`step ${spec.key} comes after unknown ${k}`);
        return dep;
      }),
      bestEffort: spec.bestEffort ?? false,
      promotes: spec.promotes ?? false,
      status: "waiting",
      attempts: 0,
      sentAt: null,
      timeoutMs: replyTimeoutMs(spec.step, env.opts),
      guardRounds: 0,
      result: null,
    });
  }
}

export function advance(op: Operation, env: Env, first: Next) {
  let n: Next | null = first;
  let rounds = 0;
  while (n !== null) {
    rounds += 1;
    if (rounds > 64) {
      n = { kind: "failed", error: errorBody("INTERNAL", "plan did not converge"), message: "" };
    }
    switch (n.kind) {
      case "done":
        finish(op, env, "succeeded", n.message, null);
        return;
      case "failed": {
        const cancelled = op.cancelRequested || n.error.code === "CANCELLED";
        finish(op, env, cancelled ? "cancelled" : "failed", n.message || n.error.message, n.error);
        return;
      }
      case "phase":
        installPhase(op, env, n);
        emitOperation(op, env, "running", n.message);
        n = settle(op, env);
        break;
      default: {
        const never: never = n;
        return never;
      }
    }
  }
}

function phaseComplete(op: Operation): boolean {
  return (
    stepsOf(op, op.phase).every(
      (s) => s.status === "ok" || s.status === "failed" || s.status === "skipped",
    ) &&
    op.agentCalls.every(
      (c) =>
        (c.phase !== op.phase || (c.status !== "waiting" && c.status !== "sent")) &&
        (c.until !== op.phase || isFinal(c)),
    )
  );
}

export function skipRemaining(op: Operation) {
  for (const s of stepsOf(op, op.phase)) {
    if (s.status === "waiting" || s.status === "sent") s.status = "skipped";
  }
  // A call already sent may be running on its host: it keeps its status, so the plan's
  // failure path can see it and cancel it there.
  for (const c of op.agentCalls) {
    if (c.phase === op.phase && c.status === "waiting") c.status = "skipped";
  }
}

function recordTiming(op: Operation, now: number) {
  if (op.phase !== "")
    op.timings[op.phase] = (op.timings[op.phase] ?? 0) + (now - op.phaseStartedAt);
}

/** Sends what can be sent; the plan's next move once the phase is over, null meanwhile. */
export function settle(op: Operation, env: Env): Next | null {
  const refused = dispatch(op, env);
  if (refused) {
    skipRemaining(op);
    return driverOf(env, op).fail(op, env, refused);
  }
  if (!phaseComplete(op)) return null;
  recordTiming(op, env.ctx.now);
  return driverOf(env, op).next(op, env);
}
