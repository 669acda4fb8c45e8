import type { HookContext } from "@marina/contracts/hooks";
import { type Env, type Next, type PlanDriver, phaseOf, stepsOf } from "../plans/common.js";
import { POST } from "../plans/hooks.js";
import type { Operation, OperationOutcome } from "../state.js";

// Post hooks (config hooks.postFailover, hooks.postSwitchover): once a failover or a
// switchover has ended — succeeded, failed or cancelled, not vetoed — the engine runs its
// post hook on an executor before publishing the end. The outcome is fixed first
// (op.outcome) and is what the operation ends with whatever the hook does: best effort,
// bounded by the hook's timeout; its result is added to the final message and the record.

export const POST_HOOK_PHASE = "post-hook";

function endState(op: Operation, outcome: OperationOutcome): "succeeded" | "failed" | "cancelled" {
  if (outcome.kind === "done") return "succeeded";
  return op.cancelRequested || outcome.error.code === "CANCELLED" ? "cancelled" : "failed";
}

/** Who the post hook is told is the primary now, and who was. */
function primaries(op: Operation): { old: string; new: string | null } | null {
  switch (op.plan.kind) {
    case "failover":
      return { old: op.plan.failed, new: op.promoted ? op.plan.candidate : null };
    case "switchover":
      return { old: op.plan.old, new: op.promoted ? op.plan.target : null };
    default:
      return null;
  }
}

/** The post hook's phase before `op` ends with `outcome`; null when there is none to run. */
export function postHookPhase(op: Operation, env: Env, outcome: OperationOutcome): Next | null {
  if (op.outcome !== undefined) return null;
  if (op.kind !== "failover" && op.kind !== "switchover") return null;
  const name = POST[op.kind];
  const spec = env.ctx.config.hooks[name];
  const who = primaries(op);
  if (!spec || !who) return null;
  // A vetoed operation changed nothing and did not happen.
  if (outcome.kind === "failed" && outcome.error.code === "VETOED") return null;
  const result = endState(op, outcome);
  const context: HookContext = {
    operation: op.kind,
    trigger: op.requestId === null ? "automatic" : "command",
    forced:
      op.plan.kind === "switchover" ? op.plan.force : op.plan.kind === "failover" && op.plan.manual,
    oldPrimary: who.old,
    newPrimary: who.new,
    reason: op.reason.slice(0, 1024),
    result,
    error: outcome.kind === "failed" ? outcome.error.message.slice(0, 1024) : null,
  };
  op.outcome = outcome;
  return phaseOf(
    POST_HOOK_PHASE,
    [
      {
        key: name,
        server: who.new ?? who.old,
        step: { kind: "run-hook", hook: name, timeoutMs: spec.timeoutMs, context },
        bestEffort: true,
      },
    ],
    spec.timeoutMs + 2 * env.opts.stepReplyMarginMs,
    `the ${op.kind} ${result}; running hook ${name}`,
  );
}

/** The stored outcome, with what the post hook did said in its message. */
function outcomeWithNote(op: Operation): Next {
  const outcome = op.outcome!;
  const s = stepsOf(op, POST_HOOK_PHASE)[0];
  if (s?.step.kind !== "run-hook") return outcome;
  const note =
    s.status === "ok"
      ? `hook ${s.step.hook} exited 0`
      : `hook ${s.step.hook} failed (the result stands): ${s.result?.error?.message ?? s.status}`;
  const message = `${outcome.message}; ${note}`.slice(0, 4096);
  return { ...outcome, message };
}

/**
 * The driver of an operation whose post hook runs: whatever happens (the phase ends, a
 * deadline passes), it ends with the outcome fixed before the hook started.
 */
export const outcomeDriver: PlanDriver = {
  next: outcomeWithNote,
  fail: outcomeWithNote,
};
