import type { Diagnosis } from "../diagnose/findings.js";
import { cancelOperation } from "../engine/operation.js";
import type { Env } from "../plans/common.js";
import { checkFailoverConstraints } from "./constraints.js";

/**
 * A rebuild may run for hours, and only one operation runs per cluster: when the primary
 * is found dead and an automatic failover would start, the rebuild is cancelled so the
 * failover can start as soon as the agents have stopped.
 */
export function preemptForFailover(env: Env, d: Diagnosis): boolean {
  const { state, ctx } = env;
  const op = state.operation;
  const primary = state.primary;
  if (op?.kind !== "rebuild" || op.status !== "running" || op.cancelRequested) return false;
  if (primary === null || d.assessment?.primary !== primary || d.assessment.verdict !== "dead")
    return false;
  const block = checkFailoverConstraints({
    config: ctx.config,
    now: ctx.now,
    failovers: state.failovers,
    primary,
    primaryInMaintenance: state.maintenance[primary] !== undefined,
    primaryLastObservation: state.lastObservation[primary]?.observation ?? null,
    paused: state.paused,
    vetoHold: state.vetoHold ?? null,
  });
  if (block) return false;
  cancelOperation(env, `the primary ${primary} failed: a failover comes before a rebuild`);
  return true;
}
