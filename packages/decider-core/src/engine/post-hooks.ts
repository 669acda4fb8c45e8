import type { ErrorBody } from "@marina/contracts/commands";
import type { ExecResult } from "@marina/contracts/executor";
import type { OperationRecord } from "@marina/contracts/history";
import type { HookContext } from "@marina/contracts/hooks";
import { errorBody } from "@marina/contracts/parse";
import { historyAction, hookRecord } from "../history.js";
import type { Env } from "../plans/common.js";
import { POST } from "../plans/hooks.js";
import type { Operation, PostHookRun } from "../state.js";
import { describeStep, replyTimeoutMs, stepAction } from "../steps.js";

// Post hooks (config hooks.postFailover, hooks.postSwitchover): once a failover or a
// switchover has ended — succeeded, failed or cancelled; not vetoed — its post hook runs on
// an executor DETACHED from it. The operation's end is published and the operation cleared
// first, so a post hook (up to its timeout, 10 min at most) never holds the decider busy:
// the new primary can be failed over, commands are not refused, roles are published. The
// hook is one exec step tracked outside any operation (state.postHooks), like the
// enforcement steps; when its result comes (or it is given up), the operation's record is
// stored again with the hook in it (the history stream keeps one record per operation).

export const POST_HOOK_PHASE = "post-hook";

/** Most post hooks tracked at once; beyond, the oldest is given up (and logged). */
const POST_HOOKS_MAX = 16;

export type EndState = "succeeded" | "failed" | "cancelled";

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

export interface PostHookPlan {
  server: string;
  step: Extract<PostHookRun["step"], { kind: "run-hook" }>;
}

/** The post hook to run once `op` ends so; null when there is none to run. */
export function postHookOf(
  op: Operation,
  env: Env,
  state: EndState,
  error: ErrorBody | null,
): PostHookPlan | null {
  if (op.kind !== "failover" && op.kind !== "switchover") return null;
  const name = POST[op.kind];
  const spec = env.ctx.config.hooks[name];
  const who = primaries(op);
  if (!spec || !who) return null;
  // A vetoed operation changed nothing and did not happen.
  if (error?.code === "VETOED") return null;
  const context: HookContext = {
    operation: op.kind,
    trigger: op.requestId === null ? "automatic" : "command",
    forced:
      op.plan.kind === "switchover" ? op.plan.force : op.plan.kind === "failover" && op.plan.manual,
    oldPrimary: who.old,
    newPrimary: who.new,
    reason: op.reason.slice(0, 1024),
    result: state,
    error: error ? error.message.slice(0, 1024) : null,
  };
  return {
    server: who.new ?? who.old,
    step: { kind: "run-hook", hook: name, timeoutMs: spec.timeoutMs, context },
  };
}

/** The note the operation's final message gets when a post hook follows it. */
export function postHookNote(p: PostHookPlan): string {
  return `hook ${p.step.hook} runs next (its result is added to this record)`;
}

function send(env: Env, run: PostHookRun) {
  run.attempts += 1;
  run.sentAt = env.ctx.now;
  env.actions.push(
    stepAction(
      {
        cluster: env.state.cluster,
        server: run.server,
        opId: run.opId,
        stepId: run.stepId,
        epoch: env.ctx.epoch,
        step: run.step,
      },
      run.timeoutMs,
      `${run.opId} ended: ${describeStep(run.step)} (detached from the operation)`,
    ),
  );
}

/** Sends the post hook of an operation that has just ended (its record just published). */
export function startPostHook(env: Env, opId: string, p: PostHookPlan, record: OperationRecord) {
  env.state.postHooks ??= {};
  const runs = env.state.postHooks;
  const run: PostHookRun = {
    opId,
    stepId: `${opId}-${POST_HOOK_PHASE}`,
    server: p.server,
    step: p.step,
    attempts: 0,
    sentAt: env.ctx.now,
    timeoutMs: replyTimeoutMs(p.step, env.opts),
    record,
  };
  runs[opId] = run;
  const ids = Object.keys(runs);
  for (const old of ids.slice(0, Math.max(0, ids.length - POST_HOOKS_MAX))) {
    const r = runs[old];
    if (r) giveUp(env, r, errorBody("INTERNAL", "too many post hooks running: not awaited"));
  }
  send(env, run);
}

/** The record stored again, with the hook and one word on it in its message. */
function recordWithHook(
  env: Env,
  run: PostHookRun,
  result: ExecResult | null,
  error: ErrorBody | null,
) {
  const ok = result?.ok === true;
  const h = hookRecord({
    step: run.step,
    phase: POST_HOOK_PHASE,
    status: ok ? "ok" : "failed",
    result: { data: result?.data ?? {}, error: ok ? null : (result?.error ?? error) },
    sentAt: run.sentAt,
    endedAt: env.ctx.now,
  });
  const hook = run.step.kind === "run-hook" ? run.step.hook : "post hook";
  const why = result?.error?.message ?? error?.message ?? "no result";
  const note = ok ? `hook ${hook} exited 0` : `hook ${hook} failed (the result stands): ${why}`;
  const r = run.record;
  const record: OperationRecord = {
    ...r,
    message: `${r.message}; ${note}`.slice(0, 4096),
    ...(h ? { hooks: [...(r.hooks ?? []), h].slice(-16) } : {}),
  };
  env.actions.push(historyAction(record));
}

function giveUp(env: Env, run: PostHookRun, error: ErrorBody) {
  delete env.state.postHooks?.[run.opId];
  recordWithHook(env, run, null, error);
}

/** The result of a post hook's step; false when the ids are not those of one running. */
export function onPostHookResult(
  env: Env,
  opId: string,
  stepId: string,
  result: ExecResult,
): boolean {
  const run = env.state.postHooks?.[opId];
  if (!run || run.stepId !== stepId) return false;
  // Its executor was lost, or none took it: hooks are idempotent, another one runs it.
  const lost = result.error?.code === "EXECUTOR_LOST" || result.error?.code === "STEP_NOT_TAKEN";
  if (!result.ok && lost && run.attempts < env.opts.maxStepAttempts) {
    send(env, run);
    return true;
  }
  delete env.state.postHooks?.[opId];
  recordWithHook(env, run, result, null);
  return true;
}

/**
 * Time passed: a post hook whose reply is overdue is given up — its result went to a
 * decider that no longer leads (the new leader never gets it).
 */
export function expirePostHooks(env: Env) {
  const { now } = env.ctx;
  for (const run of Object.values(env.state.postHooks ?? {})) {
    if (now < run.sentAt + run.timeoutMs + env.opts.stepReplyMarginMs) continue;
    giveUp(env, run, errorBody("TIMEOUT", `no reply within ${run.timeoutMs} ms`));
  }
}
