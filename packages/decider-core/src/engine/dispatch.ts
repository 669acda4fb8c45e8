import type { ErrorBody } from "@marina/contracts/commands";
import type { ExecStep } from "@marina/contracts/executor";
import { errorBody } from "@marina/contracts/parse";
import { describeAgentAction } from "../plans/agent-calls.js";
import { type Env, fenceExecStep, stepsOf } from "../plans/common.js";
import type { AgentCall, Operation, OpStep } from "../state.js";
import { describeStep, replyTimeoutMs, stepAction } from "../steps.js";
import { writableOthers } from "../writable.js";

// Sending what the current phase can send: its agent calls, and each step whose `after`
// steps succeeded. The write guard: before any step that turns read_only off, every other
// server that may be reachable and may be writable is fenced first (the one fence step, see
// fenceStep); this keeps "never two writable primaries" true whatever the plan asks for.

const MAX_GUARD_ROUNDS = 3;

/** Servers other than `server` that may be reachable and may be writable. */
export function guardOffenders(env: Env, server: string): string[] {
  return writableOthers(env.state, env.ctx.config, server, env.ctx.now);
}

export function send(op: Operation, s: OpStep, env: Env, note = "") {
  if (note === "" && s.attempts > 0 && s.result?.error) {
    note = ` (attempt ${s.attempts + 1} after ${s.result.error.code})`;
  }
  s.status = "sent";
  s.attempts += 1;
  s.sentAt = env.ctx.now;
  const request = {
    cluster: env.state.cluster,
    server: s.server,
    opId: op.opId,
    stepId: s.id,
    epoch: env.ctx.epoch,
    step: s.step,
  };
  env.actions.push(
    stepAction(
      request,
      s.timeoutMs,
      `${op.kind} ${op.opId} ${s.phase}: ${describeStep(s.step)} on ${s.server}${note}`,
    ),
  );
}

export function sendCall(op: Operation, c: AgentCall, env: Env, note = "") {
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

export function dispatch(op: Operation, env: Env): ErrorBody | null {
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
    const fence = guardStep(
      op,
      env,
      server,
      `${op.opId}-${op.seq}`,
      fenceExecStep(env.ctx.config, true),
    );
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
