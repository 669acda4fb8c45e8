import type { ErrorBody } from "@marina/contracts/commands";
import type { HookContext, HookedOperation, HookName } from "@marina/contracts/hooks";
import { errorBody } from "@marina/contracts/parse";
import type { Operation, OpStep } from "../state.js";
import { type Env, type Next, phaseOf, type StepSpec, stepsOf } from "./common.js";

// Hooks and the veto subject around a failover or a switchover (config `hooks`). They run
// on executors as steps (run-hook, ask-veto) that touch no server; the decider only plans
// them and reads their results. The pre phase comes first, before any step changes a server
// (a failover's before its inspections too: a hook may take minutes, and nothing read
// before it is used after), so a veto leaves everything as it was. A pre hook that
// does not exit 0 in time, or a veto reply, blocks an operation that may be vetoed (an
// automatic failover, a switchover without `force`); one that may not (a failover command,
// a forced switchover) goes on, and the verdict is kept as a warning in its final message.

/** The phase of the pre hook and the veto request. */
export const PRE_HOOK_PHASE = "pre-hook";

const PRE: Record<HookedOperation, HookName> = {
  failover: "preFailover",
  switchover: "preSwitchover",
};
export const POST: Record<HookedOperation, HookName> = {
  failover: "postFailover",
  switchover: "postSwitchover",
};

/** What the pre phase is told about the operation about to run. */
export interface PreHookSubject {
  operation: HookedOperation;
  automatic: boolean;
  /** A veto is recorded, not obeyed. */
  forced: boolean;
  old: string;
  /** The expected new primary (a failover's: chosen from the samples; null when none). */
  new: string | null;
  reason: string;
}

/**
 * The pre phase, or null when neither a pre hook nor the veto subject is configured for
 * the operation: the hook and the veto request at once. Best effort, so that a failure is
 * read by the plan (preHookVerdict) rather than failing the operation. The steps name the
 * new primary as their server (the executor connects to none for them).
 */
export function preHookPhase<P extends string>(
  env: Env,
  phase: P,
  subject: PreHookSubject,
): Next<P> | null {
  const h = env.ctx.config.hooks;
  const spec = h[PRE[subject.operation]];
  if (spec === undefined && !h.veto.enabled) return null;
  const context = preContext(subject);
  const server = subject.new ?? subject.old;
  const steps: StepSpec[] = [];
  if (spec) {
    steps.push({
      key: PRE[context.operation],
      server,
      step: { kind: "run-hook", hook: PRE[context.operation], timeoutMs: spec.timeoutMs, context },
      bestEffort: true,
    });
  }
  if (h.veto.enabled) {
    steps.push({
      key: "veto",
      server,
      step: {
        kind: "ask-veto",
        operation: context.operation,
        timeoutMs: h.veto.timeoutMs,
        required: h.veto.required,
        context,
      },
      bestEffort: true,
    });
  }
  const longest = Math.max(
    0,
    ...steps.map((s) => ("timeoutMs" in s.step ? (s.step.timeoutMs ?? 0) : 0)),
  );
  const who = steps.map((s) => (s.step.kind === "ask-veto" ? "the veto subject" : s.key));
  return phaseOf(
    phase,
    steps,
    longest + 2 * env.opts.stepReplyMarginMs,
    `asking ${who.join(" and ")} before the ${context.operation}${context.forced ? " (forced: a veto is only recorded)" : ""}`,
  );
}

export interface HookVerdict {
  /** A hook or a responder said no (or did not say yes in time). */
  blocked: boolean;
  /** One line: who blocked and why, with the hook's output. */
  reason: string;
  /** For the FailoverBlocked event (hook, exit code, output, responder). */
  details: Record<string, string | number | boolean | null>;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const oneLine = (t: string, max: number) => {
  const s = t.replace(/\s+/g, " ").trim();
  return s.length <= max ? s : `${s.slice(0, max)}…`;
};

/** Why one pre step blocks, or null when it let the operation through. */
function blockOf(s: OpStep): { reason: string; details: HookVerdict["details"] } | null {
  if (s.status === "ok") return null;
  const data = s.result?.data ?? {};
  const last = s.result?.error?.message;
  const error =
    s.status === "skipped"
      ? `${s.step.kind === "run-hook" ? `hook ${s.step.hook}` : "veto request"} not answered before the phase's deadline${last ? ` (last: ${last})` : ""}`
      : (last ?? s.status);
  if (s.step.kind === "ask-veto") {
    return {
      reason: `veto subject: ${error}`,
      details: { vetoReason: oneLine(str(data.reason) || error, 1024) },
    };
  }
  if (s.step.kind !== "run-hook") return null;
  const exitCode = typeof data.exitCode === "number" ? data.exitCode : null;
  const stdout = str(data.stdout);
  const stderr = str(data.stderr);
  const output = oneLine([stderr, stdout].filter((x) => x.trim() !== "").join(" | "), 1024);
  // The executor's message names the hook ("hook preFailover exited 1"); the decider's
  // (a lost executor, no reply) does not.
  const named = error.includes(`hook ${s.step.hook}`) ? error : `hook ${s.step.hook}: ${error}`;
  return {
    reason: `${named}${output && !error.includes(output) ? `: ${output}` : ""}`,
    details: {
      hook: s.step.hook,
      exitCode,
      signal: typeof data.signal === "string" ? data.signal : null,
      timedOut: data.timedOut === true,
      stdout: stdout.slice(0, 1024),
      stderr: stderr.slice(0, 1024),
    },
  };
}

/** What the pre phase said. */
export function preHookVerdict(op: Operation): HookVerdict {
  const blocks = stepsOf(op, PRE_HOOK_PHASE)
    .map(blockOf)
    .filter((b) => b !== null);
  return {
    blocked: blocks.length > 0,
    reason: blocks.map((b) => b.reason).join("; "),
    details: Object.assign({}, ...blocks.map((b) => b.details)),
  };
}

/** How an operation blocked by its pre phase ends: nothing was changed. */
export function vetoedEnd(
  operation: HookedOperation,
  verdict: HookVerdict,
): Extract<Next, { kind: "failed" }> {
  const error: ErrorBody = errorBody("VETOED", `${operation} vetoed: ${verdict.reason}`);
  return { kind: "failed", error, message: `${error.message}; nothing was changed` };
}

/** The warning a forced operation keeps of a veto it did not obey (null when none). */
export function vetoWarning(op: Operation): string | null {
  if (stepsOf(op, PRE_HOOK_PHASE).length === 0) return null;
  const v = preHookVerdict(op);
  return v.blocked ? `WARNING, not obeyed (forced): ${v.reason}` : null;
}

function preContext(o: PreHookSubject): HookContext {
  return {
    operation: o.operation,
    trigger: o.automatic ? "automatic" : "command",
    forced: o.forced,
    oldPrimary: o.old,
    newPrimary: o.new,
    reason: o.reason.slice(0, 1024),
    result: null,
    error: null,
  };
}
