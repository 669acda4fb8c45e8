import type { ExecResult } from "@marina/contracts/executor";
import type { FenceIntent } from "./diagnose/findings.js";
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
