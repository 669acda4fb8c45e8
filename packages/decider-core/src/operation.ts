import type { AgentProgress, AgentResult } from "@marina/contracts/agent";
import type { ErrorBody } from "@marina/contracts/commands";
import type { ExecResult, ExecStep } from "@marina/contracts/executor";
import type { OperationEvent, OperationKind, OperationState } from "@marina/contracts/operations";
import { errorBody } from "@marina/contracts/parse";
import { writableOthers } from "./diagnose.js";
import { readInspect } from "./inspect.js";
import { recordInspection } from "./knowledge.js";
import type { DeciderOptions } from "./options.js";
import { describeAgentAction, isFinal } from "./plans/agent-calls.js";
import { type Env, fenceExecStep, type Next, type PlanDriver, stepsOf } from "./plans/common.js";
import { failoverDriver } from "./plans/failover.js";
import { rebuildDriver } from "./plans/rebuild.js";
import { rejoinDriver } from "./plans/rejoin.js";
import { switchoverDriver } from "./plans/switchover.js";
import type { AgentCall, Operation, OpStep, Plan } from "./state.js";
import { sourcesOf } from "./topology.js";

// The operation engine: runs a plan as phases of idempotent steps. Within a phase, steps run
// as soon as the steps they come `after` succeeded. A failed step is retried while its
// error is retryable (a bounded number of times, never past the phase deadline; a waiting
// step that timed out is not retried — its timeout IS the bound). A failure that is not
// best-effort hands over to the plan, which undoes (before promotion) or gives up.
//
// The write guard: before any step that turns read_only off, every other server that may be
// reachable and may be writable is fenced first (the one fence step, see fenceStep). This is
// what keeps "never two writable primaries" true whatever the plan asks for.

const WAIT_KINDS: ReadonlySet<ExecStep["kind"]> = new Set([
  "wait-gtid",
  "drain-relay-log",
  "wait-binlog-stable",
  "verify-replicating",
]);
const MAX_GUARD_ROUNDS = 3;

export function driverFor(kind: OperationKind): PlanDriver {
  switch (kind) {
    case "failover":
      return failoverDriver;
    case "switchover":
      return switchoverDriver;
    case "rejoin":
      return rejoinDriver;
    case "rebuild":
      return rebuildDriver;
    default: {
      const never: never = kind;
      throw new Error(`no driver for ${String(never)}`);
    }
  }
}

export function replyTimeoutMs(step: ExecStep, opts: DeciderOptions): number {
  return "timeoutMs" in step ? step.timeoutMs + opts.stepReplyMarginMs : opts.stepTimeoutMs;
}

export function describeStep(step: ExecStep): string {
  switch (step.kind) {
    case "inspect":
      return "inspect";
    case "set-read-only":
      return `set read_only=${step.readOnly ? 1 : 0}`;
    case "fence":
      return `fence (read_only=1, kill ${step.kill === "none" ? "no" : step.kill} clients, then semi-sync master off)`;
    case "kill-clients":
      return `kill clients${step.includePrivileged ? " (privileged too)" : ""}`;
    case "stop-replication":
      return `stop replication '${step.connection}'`;
    case "reset-replication":
      return `reset replication '${step.connection}'`;
    case "change-master":
      return `change master '${step.connection}' to ${step.source} (${step.useGtid})`;
    case "start-replication":
      return `start replication '${step.connection}'${step.untilGtid !== undefined ? ` until ${step.untilGtid}` : ""}`;
    case "set-gtid-slave-pos":
      return `set gtid_slave_pos='${step.pos}'`;
    case "wait-gtid":
      return `wait for gtid '${step.pos}'`;
    case "drain-relay-log":
      return `drain relay log '${step.connection}'`;
    case "set-semi-sync":
      return `semi-sync master=${step.master ?? "-"} slave=${step.slave ?? "-"}`;
    case "wait-binlog-stable":
      return `wait binlog stable ${step.stableMs} ms`;
    case "verify-replicating":
      return `verify replicating '${step.connection}'`;
    default: {
      const never: never = step;
      return String(never);
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function emitOperation(
  op: Operation,
  env: Env,
  state: OperationState,
  message: string,
  error: ErrorBody | null = null,
  progress: OperationEvent["progress"] = null,
) {
  const ended = state === "running" ? null : iso(env.ctx.now);
  const event: OperationEvent = {
    cluster: env.state.cluster,
    opId: op.opId,
    kind: op.kind,
    state,
    phase: op.phase === "" ? "start" : op.phase,
    epoch: env.ctx.epoch,
    servers: op.servers,
    message: message.slice(0, 4096),
    progress,
    startedAt: iso(op.startedAt),
    endedAt: ended,
    error,
    timings: { ...op.timings },
  };
  env.actions.push({
    kind: "operation",
    event,
    reason: `${op.kind} ${op.opId} ${state} (${event.phase}): ${message}`,
  });
}

export interface StartSpec {
  kind: OperationKind;
  plan: Plan;
  reason: string;
  requestId: string | null;
  servers: Record<string, string>;
}

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
  };
  env.state.operation = op;
  emitOperation(op, env, "running", `started: ${spec.reason}`);
  advance(op, env, driverFor(op.kind).next(op, env));
  return op;
}

function finish(
  op: Operation,
  env: Env,
  state: OperationState,
  message: string,
  error: ErrorBody | null,
) {
  if (op.phase !== "" && !(op.phase in op.timings)) recordTiming(op, env.ctx.now);
  op.timings.total = env.ctx.now - op.startedAt;
  emitOperation(op, env, state, message, error);
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

function advance(op: Operation, env: Env, first: Next) {
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

function skipRemaining(op: Operation) {
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
function settle(op: Operation, env: Env): Next | null {
  const refused = dispatch(op, env);
  if (refused) {
    skipRemaining(op);
    return driverFor(op.kind).fail(op, env, refused);
  }
  if (!phaseComplete(op)) return null;
  recordTiming(op, env.ctx.now);
  return driverFor(op.kind).next(op, env);
}

/** Servers other than `server` that may be reachable and may be writable. */
export function guardOffenders(env: Env, server: string): string[] {
  return writableOthers(env.state, env.ctx.config, server, env.ctx.now);
}

function send(op: Operation, s: OpStep, env: Env, note = "") {
  if (note === "" && s.attempts > 0 && s.result?.error) {
    note = ` (attempt ${s.attempts + 1} after ${s.result.error.code})`;
  }
  s.status = "sent";
  s.attempts += 1;
  s.sentAt = env.ctx.now;
  env.actions.push({
    kind: "step",
    request: {
      cluster: env.state.cluster,
      server: s.server,
      opId: op.opId,
      stepId: s.id,
      epoch: env.ctx.epoch,
      step: s.step,
    },
    timeoutMs: s.timeoutMs,
    reason: `${op.kind} ${op.opId} ${s.phase}: ${describeStep(s.step)} on ${s.server}${note}`,
  });
}

function sendCall(op: Operation, c: AgentCall, env: Env, note = "") {
  if (note === "" && c.attempts > 0 && c.result?.error) {
    note = ` (attempt ${c.attempts + 1} after ${c.result.error.code})`;
  }
  c.status = "sent";
  c.attempts += 1;
  c.sentAt = env.ctx.now;
  env.actions.push({
    kind: "agent",
    request: { host: c.host, opId: c.id, epoch: env.ctx.epoch, request: c.action },
    opId: op.opId,
    key: c.key,
    timeoutMs: c.timeoutMs,
    reason: `${op.kind} ${op.opId} ${c.phase}: ${describeAgentAction(c.action)} on ${c.host}${note}`,
  });
}

function dispatch(op: Operation, env: Env): ErrorBody | null {
  for (const c of op.agentCalls) {
    if (c.phase === op.phase && c.status === "waiting") sendCall(op, c, env);
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (const s of stepsOf(op, op.phase)) {
      if (s.status !== "waiting") continue;
      const deps = s.after.map((id) => op.steps.find((x) => x.id === id));
      if (deps.some((d) => d && (d.status === "failed" || d.status === "skipped"))) {
        s.status = "skipped";
        changed = true;
        continue;
      }
      if (!deps.every((d) => !d || d.status === "ok")) continue;
      if (s.step.kind === "set-read-only" && !s.step.readOnly) {
        const offenders = guardOffenders(env, s.server);
        if (offenders.length > 0) {
          if (s.guardRounds >= MAX_GUARD_ROUNDS) {
            return errorBody(
              "REFUSED",
              `not making ${s.server} writable: ${offenders.join(", ")} may still be writable`,
            );
          }
          s.guardRounds += 1;
          const fenceIds = addFences(op, env, offenders);
          s.after.push(...fenceIds);
          changed = true;
          continue;
        }
        // From now on the server may be writable, whatever the reply says.
        env.state.readOnly[s.server] = {
          readOnly: false,
          at: env.ctx.now,
          by: "step",
          pending: true,
        };
        if (s.promotes) op.promoted = true;
      }
      send(op, s, env);
      changed = true;
    }
  }
  return null;
}

function addFences(op: Operation, env: Env, servers: string[]): string[] {
  const ids: string[] = [];
  for (const server of servers) {
    op.seq += 1;
    const fence = guardStep(op, env, server, `${op.opId}-${op.seq}`, fenceExecStep(true));
    op.steps.push(fence);
    ids.push(fence.id);
  }
  return ids;
}

function guardStep(op: Operation, env: Env, server: string, id: string, step: ExecStep): OpStep {
  return {
    id,
    key: `guard-${step.kind}-${server}-${id}`,
    phase: op.phase,
    server,
    step,
    after: [],
    bestEffort: false,
    promotes: false,
    status: "waiting",
    attempts: 0,
    sentAt: null,
    timeoutMs: replyTimeoutMs(step, env.opts),
    guardRounds: 0,
    result: null,
  };
}

/** What a step's result teaches about the server, whether or not the step is still awaited. */
function learnFromResult(env: Env, server: string, step: ExecStep, result: ExecResult) {
  if (!result.ok) return;
  const { state, ctx } = env;
  state.stepContact[server] = ctx.now;
  if (step.kind === "set-read-only" || step.kind === "fence") {
    const readOnly = step.kind === "fence" || step.readOnly;
    state.readOnly[server] = { readOnly, at: ctx.now, by: "step", pending: false };
  } else if (step.kind === "change-master" || step.kind === "reset-replication") {
    // Until a newer sample shows it, the server replicates as we just set it up.
    const before = state.expectedSources[server] ?? sourcesOf(state, ctx.config, server, ctx.now);
    const others = before.filter((x) => x.connection !== step.connection);
    state.expectedSources[server] =
      step.kind === "change-master"
        ? [...others, { connection: step.connection, source: step.source }]
        : others;
  } else if (step.kind === "inspect") {
    // A full observation becomes the server's latest one (fresher than any sample taken
    // while the operation changed it); a partial one still tells read_only.
    if (!recordInspection(state, server, result.data, ctx.now)) {
      const view = readInspect(result.data);
      if (view) {
        state.readOnly[server] = {
          readOnly: view.readOnly,
          at: ctx.now,
          by: "step",
          pending: false,
        };
      }
    }
  }
}

function retryable(s: OpStep, err: ErrorBody, op: Operation, env: Env): boolean {
  if (!err.retryable) return false;
  // A waiting step's own TIMEOUT is its bound; EXECUTOR_LOST (nobody answered) is not, and
  // the step is idempotent, so it goes to another executor.
  if (err.code === "TIMEOUT" && WAIT_KINDS.has(s.step.kind)) return false;
  if (s.attempts >= env.opts.maxStepAttempts) return false;
  return op.phaseDeadline === null || env.ctx.now < op.phaseDeadline;
}

/** Handles a step result; false when it belongs to no running operation. */
export function onStepResult(env: Env, opId: string, stepId: string, result: ExecResult): boolean {
  const op = env.state.operation;
  if (!op || op.opId !== opId) return false;
  const s = op.steps.find((x) => x.id === stepId);
  if (!s) return false;
  learnFromResult(env, s.server, s.step, result);
  if (s.status !== "sent") return true; // duplicate, or a step given up on
  if (result.ok) {
    s.status = "ok";
    s.result = { data: result.data, error: null };
  } else {
    const err =
      result.error ?? errorBody("INTERNAL", `step ${describeStep(s.step)} failed without an error`);
    if (retryable(s, err, op, env)) {
      // Back to waiting: the dispatcher sends it again, through the write guard.
      s.status = "waiting";
      s.result = { data: result.data, error: err };
      const n = settle(op, env);
      if (n) advance(op, env, n);
      return true;
    }
    s.status = "failed";
    s.result = { data: result.data, error: err };
    if (!s.bestEffort && s.phase === op.phase) {
      skipRemaining(op);
      const error = { ...err, message: `${s.server}: ${describeStep(s.step)}: ${err.message}` };
      advance(op, env, driverFor(op.kind).fail(op, env, error));
      return true;
    }
  }
  if (s.phase !== op.phase) return true;
  const n = settle(op, env);
  if (n) advance(op, env, n);
  return true;
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
    advance(op, env, driverFor(op.kind).fail(op, env, error));
  }
}

/** A new leader took over: send the steps in flight again (they are idempotent). */
export function onResume(env: Env) {
  const op = env.state.operation;
  if (!op) return;
  emitOperation(op, env, "running", `resumed by a new leader (epoch ${env.ctx.epoch})`);
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
  advance(op, env, driverFor(op.kind).fail(op, env, error));
  return promoted
    ? `${op.opId} cancelled after promotion; remaining steps not sent`
    : `${op.opId} cancelled before promotion; undoing`;
}

const RESENDABLE_CALL_ERRORS: ReadonlySet<string> = new Set([
  "TIMEOUT",
  "SERVER_UNREACHABLE",
  "FUTURE_EPOCH",
  "LEASE_UNAVAILABLE",
]);

function callRetryable(c: AgentCall, err: ErrorBody, op: Operation, env: Env): boolean {
  // Sent again (same id: the agent answers it, it does not re-run it): a lost request, and
  // one the agent's lease fence turned away before doing anything (its lease view lagged).
  if (!RESENDABLE_CALL_ERRORS.has(err.code)) return false;
  if (c.attempts >= env.opts.maxStepAttempts) return false;
  return op.phaseDeadline === null || env.ctx.now < op.phaseDeadline;
}

/** A long call's reply that only says "accepted, running" (not its final result). */
function isAccepted(c: AgentCall, via: "reply" | "done", result: AgentResult): boolean {
  return c.long && via === "reply" && result.ok && result.data.state === "running";
}

/**
 * Handles an agent's reply or final result; false when it belongs to no running operation.
 * The final result of a long call may overtake its early reply: either order works.
 */
export function onAgentResult(
  env: Env,
  opId: string,
  key: string,
  via: "reply" | "done",
  result: AgentResult,
): boolean {
  const op = env.state.operation;
  if (!op || op.opId !== opId) return false;
  const c = op.agentCalls.find((x) => x.key === key);
  if (!c || result.opId !== c.id || result.host !== c.host) return false;
  if (isAccepted(c, via, result)) {
    if (c.status !== "sent") return true; // a duplicate, or the final result came first
    c.status = "running";
    c.reply = { data: result.data };
  } else {
    if (isFinal(c)) return true;
    if (c.status === "waiting") return true; // a late answer to an attempt given up on
    if (result.ok) {
      c.status = "ok";
      c.result = { data: result.data, error: null };
      if (c.reply === null && via === "reply") c.reply = { data: result.data };
    } else {
      const err =
        result.error ??
        errorBody("INTERNAL", `${describeAgentAction(c.action)} failed without an error`);
      if (via === "reply" && c.status === "sent" && callRetryable(c, err, op, env)) {
        c.status = "waiting";
        c.result = { data: result.data, error: err };
        const n = settle(op, env);
        if (n) advance(op, env, n);
        return true;
      }
      c.status = "failed";
      c.result = { data: result.data, error: err };
      const needed = c.phase === op.phase || c.until !== null;
      if (!c.bestEffort && op.status === "running" && needed) {
        skipRemaining(op);
        const error = {
          ...err,
          message: `${c.host}: ${describeAgentAction(c.action)}: ${err.message}`,
        };
        advance(op, env, driverFor(op.kind).fail(op, env, error));
        return true;
      }
    }
  }
  if (c.phase !== op.phase && c.until !== op.phase) return true;
  const n = settle(op, env);
  if (n) advance(op, env, n);
  return true;
}

/** Progress of a running long call: forwarded as the operation's progress. */
export function onAgentProgress(env: Env, opId: string, key: string, p: AgentProgress): boolean {
  const op = env.state.operation;
  if (!op || op.opId !== opId || op.status !== "running") return false;
  const c = op.agentCalls.find((x) => x.key === key);
  if (!c || p.opId !== c.id || p.host !== c.host) return false;
  if (!c.reportsProgress || isFinal(c)) return true;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  emitOperation(
    op,
    env,
    "running",
    `${p.action} ${p.server}: ${p.phase}, ${mb(p.bytes)}${p.totalBytes !== null ? ` of ~${mb(p.totalBytes)}` : ""} MB at ${mb(p.bytesPerSecond)} MB/s`,
    null,
    {
      bytes: p.bytes,
      totalBytes: p.totalBytes,
      bytesPerSecond: p.bytesPerSecond,
      etaMs: p.etaMs,
    },
  );
  return true;
}
