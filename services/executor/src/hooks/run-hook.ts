// The run-hook step: the cluster's hook as THIS executor's config defines it (the step only
// names it), with what the decider says about the operation in MARINA_* variables.
import {
  type ExecStep,
  HOOK_OUTPUT_MAX,
  type HookContext,
  type HookOutcome,
  HookOutcome as HookOutcomeSchema,
} from "@marina/contracts";
import { StepError } from "../steps/context.js";
import type { HostStepContext } from "./context.js";
import { runProgram } from "./run-program.js";

const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** The hook's whole environment: PATH, its configured `env`, then Marina's variables. */
export function hookEnv(
  o: { cluster: string; opId: string; hook: string; context: HookContext },
  configured: Readonly<Record<string, string>>,
): Record<string, string> {
  const c = o.context;
  return {
    PATH: DEFAULT_PATH,
    ...configured,
    MARINA_HOOK: o.hook,
    MARINA_CLUSTER: o.cluster,
    MARINA_OPERATION_ID: o.opId,
    MARINA_KIND: c.operation,
    MARINA_TRIGGER: c.trigger,
    MARINA_FORCED: c.forced ? "1" : "0",
    MARINA_OLD_PRIMARY: c.oldPrimary,
    MARINA_NEW_PRIMARY: c.newPrimary ?? "",
    MARINA_REASON: c.reason,
    MARINA_RESULT: c.result ?? "",
    MARINA_ERROR: c.error ?? "",
  };
}

/** One line saying why a run is not a success; null for exit 0. */
export function failureOf(r: HookOutcome, timeoutMs: number): string | null {
  if (r.spawnError !== null) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `killed at its timeout (${timeoutMs} ms)`;
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.exitCode !== 0) return `exited ${r.exitCode}`;
  return null;
}

export async function runHook(
  ctx: HostStepContext,
  step: Extract<ExecStep, { kind: "run-hook" }>,
): Promise<Record<string, unknown>> {
  const spec = ctx.cluster.hooks[step.hook];
  if (!spec) {
    throw new StepError(
      "HOOK_FAILED",
      `hook ${step.hook} is not configured for cluster ${ctx.cluster.name} on this executor (clusters[].hooks.${step.hook})`,
    );
  }
  // The executor's own bound wins when its config says less than the decider's.
  const timeoutMs = Math.min(spec.timeoutMs, step.timeoutMs);
  const run = await runProgram({
    argv: spec.argv,
    env: hookEnv(
      { cluster: ctx.cluster.name, opId: ctx.request.opId, hook: step.hook, context: step.context },
      spec.env,
    ),
    timeoutMs,
    maxOutputBytes: HOOK_OUTPUT_MAX,
  });
  const outcome = HookOutcomeSchema.parse({
    hook: step.hook,
    ...run,
    stdout: run.stdout.slice(0, HOOK_OUTPUT_MAX),
    stderr: run.stderr.slice(0, HOOK_OUTPUT_MAX),
  });
  const failure = failureOf(outcome, timeoutMs);
  ctx.log.info(
    {
      hook: step.hook,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      durationMs: outcome.durationMs,
    },
    failure === null ? "hook exited 0" : `hook failed: ${failure}`,
  );
  if (failure !== null) {
    throw new StepError("HOOK_FAILED", `hook ${step.hook} ${failure}`, outcome);
  }
  return outcome;
}
