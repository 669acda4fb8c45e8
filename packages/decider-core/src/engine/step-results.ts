import type { ErrorBody } from "@marina/contracts/commands";
import { type ExecResult, type ExecStep, isHostStep } from "@marina/contracts/executor";
import { errorBody } from "@marina/contracts/parse";
import { readInspect } from "../inspect.js";
import { recordInspection } from "../knowledge.js";
import type { Env } from "../plans/common.js";
import type { Operation, OpStep } from "../state.js";
import { describeStep, ONCE_KINDS } from "../steps.js";
import { sourcesOf } from "../topology.js";
import { advance, driverOf, settle, skipRemaining } from "./run.js";

// A step's result: what it teaches about its server, then retry (a retryable error, while
// attempts and the phase deadline allow; a waiting step that timed out is not retried — its
// timeout IS the bound), or hand a failure that is not best-effort over to the plan.

const WAIT_KINDS: ReadonlySet<ExecStep["kind"]> = new Set([
  "wait-gtid",
  "drain-relay-log",
  "wait-binlog-stable",
  "verify-replicating",
  // A hook's executor kills it at its timeout and answers: no answer is its bound too.
  "run-hook",
  "ask-veto",
]);

/** What a step's result teaches about the server, whether or not the step is still awaited. */
function learnFromResult(env: Env, server: string, step: ExecStep, result: ExecResult) {
  // A hook touches no server: its success proves nothing about `server`.
  if (!result.ok || isHostStep(step)) return;
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
  if (ONCE_KINDS.has(s.step.kind) && err.code !== "STEP_NOT_TAKEN") return false;
  // A waiting step's own TIMEOUT is its bound; EXECUTOR_LOST (its executor fell silent) is
  // not, and the step is idempotent, so it goes to another executor.
  if (err.code === "TIMEOUT" && WAIT_KINDS.has(s.step.kind)) return false;
  const inTime = op.phaseDeadline === null || env.ctx.now < op.phaseDeadline;
  // No executor took it (none reachable: a NATS node lost, the request routed into a dead
  // route): it never ran, so it does not use up an attempt. The executor client reports
  // this only after a second's wait, and the phase deadline bounds it.
  if (err.code === "STEP_NOT_TAKEN" && inTime) {
    s.attempts -= 1;
    return true;
  }
  if (s.attempts >= env.opts.maxStepAttempts) return false;
  return inTime;
}

/** Handles a step result; false when it belongs to no running operation. */
export function onStepResult(env: Env, opId: string, stepId: string, result: ExecResult): boolean {
  const op = env.state.operation;
  if (!op || op.opId !== opId) return false;
  const s = op.steps.find((x) => x.id === stepId);
  if (!s) return false;
  learnFromResult(env, s.server, s.step, result);
  if (s.status !== "sent") return true; // duplicate, or a step given up on
  s.endedAt = env.ctx.now;
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
      advance(op, env, driverOf(env, op).fail(op, env, error));
      return true;
    }
  }
  if (s.phase !== op.phase) return true;
  const n = settle(op, env);
  if (n) advance(op, env, n);
  return true;
}
