import type { ExecResult } from "@marina/contracts/executor";
import type { FenceIntent, QuarantineIntent } from "./diagnose/findings.js";
import { type Env, fenceExecStep } from "./plans/common.js";
import { sendStep } from "./restore-writes.js";

// Read-only fixes outside operations: a writable replica (failover.enforceReadOnly), a
// returned former primary, a diverged server. Each is one fence step (the same one every
// plan uses, see fenceStep: read_only=1, clients killed while it waits, semi-sync master off
// after) under its own id; it is sent again only if the samples still show the server
// writable after enforceRetryMs. The state keeps only the fence's id.

/** The id of an enforcement fence's step. */
export function fenceStepId(opId: string): string {
  return `${opId}-fence`;
}

export function sendFences(env: Env, intents: FenceIntent[]) {
  const { state, ctx } = env;
  for (const f of intents) {
    const have = state.fences[f.server];
    if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) continue;
    const opId = ctx.newOpId();
    state.fences[f.server] = { opId, sentAt: ctx.now };
    // stepId `<opId>-fence`: fenceStepId.
    sendStep(env, f.server, opId, "fence", fenceExecStep(ctx.config, f.kill), f.why);
  }
}

/**
 * Stops an errant replica's connection from the primary (diagnose/servers.ts,
 * quarantineErrant): sent again only if the samples still show it running after
 * enforceRetryMs. STOP SLAVE of a stopped connection does nothing, so a new leader sending
 * it again is harmless (the record is knowledge, not persisted).
 */
export function sendQuarantines(env: Env, intents: QuarantineIntent[]) {
  const { state, ctx } = env;
  state.quarantined ??= {};
  for (const q of intents) {
    const have = state.quarantined[q.server];
    if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) continue;
    const opId = ctx.newOpId();
    state.quarantined[q.server] = { opId, sentAt: ctx.now };
    sendStep(
      env,
      q.server,
      opId,
      "quarantine",
      { kind: "stop-replication", connection: q.connection },
      q.why,
    );
  }
}

/** Result of a quarantine step; false when the id is not one of ours. */
export function onQuarantineResult(env: Env, opId: string, result: ExecResult): boolean {
  const entry = Object.entries(env.state.quarantined ?? {}).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  if (result.ok) env.state.stepContact[entry[0]] = env.ctx.now;
  return true;
}

/** Result of a fence step; false when the id is not one of ours. */
export function onFenceResult(env: Env, opId: string, stepId: string, result: ExecResult): boolean {
  const entry = Object.entries(env.state.fences).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  const [server] = entry;
  if (stepId !== fenceStepId(opId) || !result.ok) return true;
  env.state.stepContact[server] = env.ctx.now;
  env.state.readOnly[server] = { readOnly: true, at: env.ctx.now, by: "step", pending: false };
  return true;
}
