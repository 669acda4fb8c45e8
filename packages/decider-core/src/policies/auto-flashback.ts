import { describeUndo } from "@marina/contracts/executor";
import { startOperation } from "../engine/operation.js";
import type { Env } from "../plans/common.js";
import type { Operation } from "../state.js";
import { checkFlashback } from "./flashback-check.js";

/**
 * failover.autoFlashback: the first diverged server (config order) whose saved extra
 * transactions can be undone is flashed back and rejoined; one at a time, only when no
 * operation runs. A server whose extra transactions cannot be undone, or whose flashback
 * failed, is left to failover.autoRebuild.
 */
export function autoFlashback(env: Env): Operation | null {
  const { state, ctx } = env;
  if (!ctx.config.failover.autoFlashback || state.operation !== null || state.paused) return null;
  for (const s of ctx.config.servers) {
    if (!state.diverged[s.name]) continue;
    const check = checkFlashback(env, s.name, true);
    if (!check.ok) continue;
    return startOperation(env, {
      ...check.start,
      requestId: null,
      reason: `failover.autoFlashback: ${s.name} diverged (${state.diverged[s.name]?.extraGtids}); undoing ${describeUndo(check.verdict)}`,
    });
  }
  return null;
}
