import { strictDurability } from "@marina/contracts/config";
import type { ExecResult, ExecStep } from "@marina/contracts/executor";
import { semiSyncIsStrict } from "@marina/contracts/health";
import { type DiagnoseCtx, finding } from "./diagnose/findings.js";
import { currentObservation, neverPromoted } from "./knowledge.js";
import { type Env, semiSyncStep } from "./plans/common.js";
import { sendStep } from "./restore-writes.js";

// Strict durability (`semiSync: "strict"`) on the running primary. Every server Marina
// promotes, rejoins, repoints or attaches gets the strict settings in the same step that
// sets its semi-sync sides (plans/common.ts, semiSyncStep); this covers the primary Marina
// found, not made: checked on every sample (so at start-up), reported once as
// DurabilityWeakened while it lasts, and tightened when its semi-sync master is already on
// (the timeout and wait_no_slave only change how a wait ends). A primary running WITHOUT
// semi-sync master is reported and left alone: turning it on would block its writes until
// a semi-sync replica connects, which is the operator's call (or Marina's next promotion).

export function diagnoseDurability(c: DiagnoseCtx) {
  const { config, primary, primaryObs, out } = c;
  if (!strictDurability(config) || primary === null || primaryObs === null) return;
  if (primaryObs.readOnly || out.assessment?.verdict !== "healthy") return;
  const s = primaryObs.semiSync;
  // Status OFF with master enabled: it fell back to async earlier (before the timeout was
  // strict) and acknowledges commits without a replica until one catches up.
  if (s.masterEnabled && s.masterStatus && semiSyncIsStrict(s)) return;
  const what = [
    s.masterEnabled ? null : "semi-sync master off",
    s.masterEnabled && !s.masterStatus ? "semi-sync status OFF (fell back to async)" : null,
    s.masterTimeoutMs >= Number.MAX_SAFE_INTEGER
      ? null
      : `rpl_semi_sync_master_timeout=${s.masterTimeoutMs}`,
    s.masterWaitPoint.toUpperCase() === "AFTER_SYNC"
      ? null
      : `rpl_semi_sync_master_wait_point=${s.masterWaitPoint}`,
  ].filter((x): x is string => x !== null);
  const fix = s.masterEnabled
    ? "making them strict"
    : "left as is: turning semi-sync master on would block writes until a semi-sync replica connects";
  out.findings.push(
    finding(
      primary,
      "DurabilityWeakened",
      `durability is strict but ${primary} has ${what.join(", ")}: acknowledged writes can be lost; ${fix}`,
    ),
  );
  if (s.masterEnabled) out.enforceStrict = primary;
}

/**
 * Semi-sync replicas are the servers an acknowledged write may be on: only promotable ones
 * may be. A replica that is never promoted (promotion never, or delayed) found with semi-sync
 * slave on is reported (DurabilityWeakened, on the replica) and its semi-sync turned off —
 * every step Marina sends that sets a replica's semi-sync leaves it off there too
 * (plans/common.ts, replicaSemiSyncSides). The candidate choice still pulls from such a
 * replica what only it received, while it has it in its binlog.
 */
export function diagnoseAcknowledgers(c: DiagnoseCtx) {
  const { config, state, now, primary, out } = c;
  if (!config.semiSync) return;
  for (const s of config.servers) {
    if (s.name === primary) continue;
    const why = neverPromoted(state, config, s.name);
    if (why === null) continue;
    const obs = currentObservation(state, config, s.name, now);
    // Status too: set off without an IO thread restart, it still acknowledges.
    if (!obs || !(obs.semiSync.slaveEnabled || obs.semiSync.slaveStatus)) continue;
    out.findings.push(
      finding(
        s.name,
        "DurabilityWeakened",
        `${s.name} is a semi-sync replica but ${why}: a write only it acknowledged would be lost by a failover; turning its semi-sync off`,
      ),
    );
    out.semiSyncOff.push(s.name);
  }
}

/** Turns semi-sync slave off on a replica that must not acknowledge (diagnoseAcknowledgers). */
export function sendSemiSyncOff(env: Env, server: string) {
  sendDurabilityStep(
    env,
    server,
    "semi-off",
    { kind: "set-semi-sync", slave: false },
    "never promoted: not a semi-sync replica",
  );
}

function sendDurabilityStep(env: Env, server: string, key: string, step: ExecStep, why: string) {
  const { state, ctx } = env;
  const have = state.durabilityEnforced[server];
  if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) return;
  const opId = ctx.newOpId();
  state.durabilityEnforced[server] = { opId, sentAt: ctx.now };
  sendStep(env, server, opId, key, step, why);
}

export function sendStrictDurability(env: Env, server: string) {
  sendDurabilityStep(
    env,
    server,
    "strict",
    semiSyncStep(env.ctx.config, { master: true }),
    "strict durability",
  );
}

/** Result of a strict-settings step; false when the id is not one of ours. */
export function onStrictResult(env: Env, opId: string, result: ExecResult): boolean {
  const entry = Object.entries(env.state.durabilityEnforced).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  if (result.ok) env.state.stepContact[entry[0]] = env.ctx.now;
  return true;
}
