import type { ExecResult, ExecStep } from "@marina/contracts/executor";
import type { FenceIntent } from "./diagnose.js";
import { describeStep, replyTimeoutMs } from "./operation.js";
import type { Env } from "./plans/common.js";

// Read-only fixes outside operations: a writable replica (failover.enforceReadOnly), a
// returned former primary, a diverged server. Each is a one-off step under its own id; it is
// sent again only if the samples still show the server writable after enforceRetryMs.

export function sendFences(env: Env, intents: FenceIntent[]) {
  const { state, ctx } = env;
  for (const f of intents) {
    const have = state.fences[f.server];
    if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) continue;
    const opId = ctx.newOpId();
    state.fences[f.server] = { opId, sentAt: ctx.now };
    const steps: ExecStep[] = [{ kind: "set-read-only", readOnly: true }];
    if (f.kill) steps.push({ kind: "kill-clients", includePrivileged: true });
    steps.forEach((step, i) => {
      env.actions.push({
        kind: "step",
        request: {
          cluster: state.cluster,
          server: f.server,
          opId,
          stepId: `${opId}-${i + 1}`,
          epoch: ctx.epoch,
          step,
        },
        timeoutMs: replyTimeoutMs(step, env.opts),
        reason: `${f.why}: ${describeStep(step)} on ${f.server}`,
      });
    });
  }
}

/** Result of a fence step; false when the id is not one of ours. */
export function onFenceResult(env: Env, opId: string, stepId: string, result: ExecResult): boolean {
  const entry = Object.entries(env.state.fences).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  const [server] = entry;
  if (result.ok) {
    env.state.stepContact[server] = env.ctx.now;
    if (stepId === `${opId}-1`) {
      env.state.readOnly[server] = { readOnly: true, at: env.ctx.now, by: "step", pending: false };
    }
  }
  return true;
}
