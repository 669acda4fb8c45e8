import { flaggedDiverged } from "../donors.js";
import { startOperation } from "../engine/operation.js";
import { observedSinceChange } from "../knowledge.js";
import type { Env } from "../plans/common.js";
import { checkRebuild, rebuildStart } from "../plans/rebuild-check.js";
import { rebuildOptions } from "../plans/rebuild-plan.js";
import { binlogSaveOutstanding } from "../save-binlogs.js";
import type { Operation } from "../state.js";
import { awaitsFlashback } from "./flashback-check.js";

/** With failover.autoFlashback, why this one is rebuilt instead (for the reason). */
function notFlashedBack(env: Env, server: string): string {
  if (!env.ctx.config.failover.autoFlashback) return "";
  const failed = env.state.flashbackFailures?.[server];
  if (failed && failed.extraGtids === env.state.diverged[server]?.extraGtids) {
    return `; its flashback failed (${failed.opId})`;
  }
  const undo = env.state.binlogSaves?.[server]?.undo;
  return undo && !undo.undoable ? `; not flashed back: ${undo.reason}` : "";
}

/**
 * failover.autoRebuild: the first flagged server (config order) with a source to copy
 * from is rebuilt; one at a time, only when no operation runs and the primary is reachable.
 * A server whose automatic rebuild failed waits rebuildRetryMs before the next try; with
 * clusters[].saveBinlogs, a diverged one waits for its save (save-binlogs.ts); with
 * failover.autoFlashback, one whose extra transactions can be undone is flashed back instead.
 */
export function autoRebuild(env: Env): Operation | null {
  const { state, ctx } = env;
  const { config, now } = ctx;
  // Paused (pause.ts): nothing starts on its own.
  if (state.operation !== null || state.primary === null || state.paused) return null;
  const ro = rebuildOptions(env.opts);
  for (const s of config.servers) {
    const name = s.name;
    if (name === state.primary || state.maintenance[name]) continue;
    const recorded = state.diverged[name] !== undefined;
    // A situation counts only when seen on a sample newer than our last change to it.
    if (!recorded && !(flaggedDiverged(state, name) && observedSinceChange(state, name))) continue;
    // clusters[].saveBinlogs: its extra transactions are saved first (or given up on).
    if (binlogSaveOutstanding(env, name)) continue;
    // failover.autoFlashback: undone and rejoined instead, unless that cannot be or failed.
    if (awaitsFlashback(env, name)) continue;
    const failedAt = state.rebuildFailures[name];
    if (failedAt !== undefined && now - failedAt < ro.rebuildRetryMs) continue;
    const check = checkRebuild(env, {
      target: name,
      method: "physical",
      compression: { kind: "none" },
      tls: false,
    });
    if (!check.ok) continue;
    const why = `${state.diverged[name]?.reason ?? "errant transactions"}${notFlashedBack(env, name)}`;
    return startOperation(
      env,
      rebuildStart(env, check, {
        requestId: null,
        auto: true,
        reason: `failover.autoRebuild: ${name} diverged (${why}); copying ${check.source}`,
      }),
    );
  }
  return null;
}
