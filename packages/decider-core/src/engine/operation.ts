import { errorBody } from "@marina/contracts/parse";
import { type Env, type StartSpec, stepsOf } from "../plans/common.js";
import type { Operation } from "../state.js";
import { describeStep, ONCE_KINDS } from "../steps.js";
import { onAgentResult } from "./agent-results.js";
import { send, sendCall } from "./dispatch.js";
import { emitOperation } from "./emit.js";
import { advance, driverOf, settle, skipRemaining } from "./run.js";
import { onStepResult } from "./step-results.js";

// The operation engine: runs a plan as phases of idempotent steps. Within a phase, steps run
// as soon as the steps they come `after` succeeded. A failed step is retried while its
// error is retryable (a bounded number of times, never past the phase deadline; a waiting
// step that timed out is not retried — its timeout IS the bound). A failure that is not
// best-effort hands over to the plan, which undoes (before promotion) or gives up.
//
// The engine knows no plan: it runs the driver of the operation's kind from the registry it
// is given (env.plans, built in plans/index.ts), so plans never import the engine. The
// write guard is in dispatch.ts.

export function startOperation(env: Env, spec: StartSpec): Operation {
  const { now } = env.ctx;
  const op: Operation = {
    opId: env.ctx.newOpId(),
    kind: spec.kind,
    status: "running",
    phase: "",
    phaseStartedAt: now,
    phaseDeadline: null,
    startedAt: now,
    requestId: spec.requestId,
    reason: spec.reason,
    servers: spec.servers,
    timings: {},
    steps: [],
    agentCalls: [],
    seq: 0,
    promoted: false,
    cancelRequested: false,
    error: null,
    plan: spec.plan,
    request:
      spec.requestId !== null && env.request?.requestId === spec.requestId
        ? env.request.request
        : null,
  };
  env.state.operation = op;
  emitOperation(op, env, "running", `started: ${spec.reason}`);
  advance(op, env, driverOf(env, op).next(op, env));
  return op;
}

/** Time passed: steps nobody answered and phases past their deadline fail. */
export function onTick(env: Env) {
  const op = env.state.operation;
  if (!op) return;
  const { now } = env.ctx;
  const stale = stepsOf(op, op.phase).filter(
    (s) =>
      s.status === "sent" &&
      s.sentAt !== null &&
      now >= s.sentAt + s.timeoutMs + env.opts.stepReplyMarginMs,
  );
  for (const s of stale) {
    if (env.state.operation !== op || s.status !== "sent") break;
    onStepResult(env, op.opId, s.id, {
      stepId: s.id,
      ok: false,
      executor: "decider",
      durationMs: now - (s.sentAt ?? now),
      data: {},
      error: errorBody("TIMEOUT", `no reply within ${s.timeoutMs} ms`),
    });
  }
  if (env.state.operation !== op) return;
  const staleCalls = op.agentCalls.filter(
    (c) =>
      c.status === "sent" &&
      c.sentAt !== null &&
      now >= c.sentAt + c.timeoutMs + env.opts.stepReplyMarginMs,
  );
  for (const c of staleCalls) {
    if (env.state.operation !== op || c.status !== "sent") break;
    onAgentResult(env, op.opId, c.key, "reply", {
      host: c.host,
      opId: c.id,
      ok: false,
      durationMs: now - (c.sentAt ?? now),
      data: {},
      error: errorBody("TIMEOUT", `agent ${c.host} did not answer within ${c.timeoutMs} ms`),
    });
  }
  if (env.state.operation !== op) return;
  if (op.phaseDeadline !== null && now >= op.phaseDeadline) {
    const error = errorBody(
      "TIMEOUT",
      `phase ${op.phase} did not finish within ${op.phaseDeadline - op.phaseStartedAt} ms`,
    );
    skipRemaining(op);
    advance(op, env, driverOf(env, op).fail(op, env, error));
  }
}

/** A new leader took over: send the steps in flight again (they are idempotent). */
export function onResume(env: Env) {
  const op = env.state.operation;
  if (!op) return;
  // The phase's clock ran on while nobody led (a lease lapsing and taken again can take
  // seconds on a NATS cluster that lost a node): the new leader gives the phase its full time.
  if (op.phaseDeadline !== null) {
    const { now } = env.ctx;
    const budget = op.phaseDeadline - op.phaseStartedAt;
    op.timings[op.phase] = (op.timings[op.phase] ?? 0) + (now - op.phaseStartedAt);
    op.phaseStartedAt = now;
    op.phaseDeadline = now + budget;
  }
  emitOperation(op, env, "running", `resumed by a new leader (epoch ${env.ctx.epoch})`);
  const lost = stepsOf(op, op.phase).find(
    (s) => s.status === "sent" && ONCE_KINDS.has(s.step.kind),
  );
  if (lost) {
    // Never sent again (steps.ts, ONCE_KINDS): it may have run, in part.
    const error = errorBody(
      "EXECUTOR_LOST",
      `${lost.server}: ${describeStep(lost.step)}: its answer was lost with a change of leader; it may have run, in part`,
    );
    lost.status = "failed";
    lost.result = { data: {}, error };
    skipRemaining(op);
    advance(op, env, driverOf(env, op).fail(op, env, error));
    return;
  }
  for (const s of stepsOf(op, op.phase)) {
    if (s.status !== "sent") continue;
    s.attempts -= 1; // a re-send, not a retry
    send(op, s, env, " (resent after leader change)");
  }
  // Agents answer a request sent again under the same id with the operation's state or its
  // final result, so a long call whose `.done` the old leader may have missed is asked again.
  for (const c of op.agentCalls) {
    const awaited = c.phase === op.phase || (c.until !== null && op.status === "running");
    if (!awaited || (c.status !== "sent" && c.status !== "running")) continue;
    c.attempts -= 1;
    sendCall(op, c, env, " (resent after leader change)");
  }
  const n = settle(op, env);
  if (n) advance(op, env, n);
}

/** Best effort: stop sending new steps; before promotion the plan undoes what it did. */
export function cancelOperation(env: Env, reason: string): string {
  const op = env.state.operation;
  if (!op) return "no operation is running";
  if (op.status === "undoing") {
    op.cancelRequested = true;
    return `${op.opId} is already undoing`;
  }
  op.cancelRequested = true;
  skipRemaining(op);
  const error = errorBody("CANCELLED", reason);
  // After promotion the plan gives up without undoing (the new primary stays); before it,
  // the plan undoes what it did.
  const promoted = op.promoted;
  advance(op, env, driverOf(env, op).fail(op, env, error));
  return promoted
    ? `${op.opId} cancelled after promotion; remaining steps not sent`
    : `${op.opId} cancelled before promotion; undoing`;
}
