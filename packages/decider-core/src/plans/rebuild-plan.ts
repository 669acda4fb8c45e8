import type { DeciderOptions } from "../options.js";
import type { Operation, RebuildPlan } from "../state.js";

// The rebuild plan's data and tunables, shared by its driver, its failure path, the check
// that starts it and the automatic-rebuild policy.

/** The rebuild's phases, in order (abort and recover are the failure path). */
export const RebuildPhases = [
  "",
  "receive",
  "send",
  "stream",
  "attach",
  "abort",
  "recover",
] as const;
export type RebuildPhase = (typeof RebuildPhases)[number];

export type RebuildMethod = "physical" | "logical";

/**
 * The rebuild plan with its method. `method` lives here until RebuildPlan (state.ts) has
 * it; absent means physical (plans recorded before the logical method existed).
 */
export type MethodPlan = RebuildPlan & { method?: RebuildMethod };

/** Rebuild tunables; read from the core options when given there (by these names). */
export interface RebuildOptions {
  /** Reply to an agent request: receive-backup answers after stopping and emptying. */
  agentReplyTimeoutMs: number;
  /** The stream, the target's prepare and its start. */
  rebuildStreamTimeoutMs: number;
  /** An automatic rebuild that failed is not tried again on that server for this long. */
  rebuildRetryMs: number;
}

export const defaultRebuildOptions: RebuildOptions = {
  // receive-backup answers once the server stopped (the agent allows 300 s for that).
  agentReplyTimeoutMs: 330_000,
  rebuildStreamTimeoutMs: 7 * 3600_000,
  rebuildRetryMs: 600_000,
};

export function rebuildOptions(opts: DeciderOptions): RebuildOptions {
  const extra = opts as DeciderOptions & Partial<RebuildOptions>;
  return {
    agentReplyTimeoutMs: extra.agentReplyTimeoutMs ?? defaultRebuildOptions.agentReplyTimeoutMs,
    rebuildStreamTimeoutMs:
      extra.rebuildStreamTimeoutMs ?? defaultRebuildOptions.rebuildStreamTimeoutMs,
    rebuildRetryMs: extra.rebuildRetryMs ?? defaultRebuildOptions.rebuildRetryMs,
  };
}

export function rebuildPlanOf(op: Operation): MethodPlan {
  if (op.plan.kind !== "rebuild") throw new Error(`${op.opId} is not a rebuild`);
  return op.plan;
}

/** The method of a rebuild operation (physical unless it was started as logical). */
export function rebuildMethodOf(op: Operation): RebuildMethod {
  return rebuildPlanOf(op).method ?? "physical";
}
