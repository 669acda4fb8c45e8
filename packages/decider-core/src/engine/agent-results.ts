import type { AgentProgress, AgentResult } from "@marina/contracts/agent";
import type { ErrorBody } from "@marina/contracts/commands";
import { errorBody } from "@marina/contracts/parse";
import { describeAgentAction, isFinal } from "../plans/agent-calls.js";
import type { Env } from "../plans/common.js";
import type { AgentCall, Operation } from "../state.js";
import { emitOperation } from "./emit.js";
import { advance, driverOf, settle, skipRemaining } from "./run.js";

// An agent's reply, final result or progress for a call of the running operation.

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
    c.endedAt = env.ctx.now;
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
        advance(op, env, driverOf(env, op).fail(op, env, error));
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
