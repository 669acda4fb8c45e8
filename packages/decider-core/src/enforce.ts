import type { ExecResult, ExecStep } from "@marina/contracts/executor";
import type { FenceIntent } from "./diagnose.js";
import { describeStep, replyTimeoutMs } from "./operation.js";
import type { Env } from "./plans/common.js";

// Read-only fixes outside operations: a writable replica (failover.enforceReadOnly), a
// returned former primary, a diverged server. Each is a one-off chain of steps under its own
// id; it is sent again only if the samples still show the server writable after
// enforceRetryMs.
//
// The chain is semi-sync master off → read_only=1 → [kill clients], each step sent when the
// one before answered (whatever the answer: the fence must not depend on semi-sync). Off
// first, because read_only=1 waits for commits in flight, and on a returning old primary a
// commit waiting for a semi-sync ack that never comes holds it rpl_semi_sync_master_timeout
// (10 s). The step ids carry the chain (`<opId>-semi`, `-ro`, `-kill`; `.k` = kill follows),
// so the state keeps only the fence's id.

const STAGES = ["semi", "ro", "kill"] as const;
type Stage = (typeof STAGES)[number];

function stepOf(stage: Stage): ExecStep {
  switch (stage) {
    case "semi":
      return { kind: "set-semi-sync", master: false };
    case "ro":
      return { kind: "set-read-only", readOnly: true };
    case "kill":
      return { kind: "kill-clients", includePrivileged: true };
    default: {
      const never: never = stage;
      return never;
    }
  }
}

/** The id of a stage's step: `<opId>-<stage>`, with `.k` while a kill is still to follow. */
export function fenceStepId(opId: string, stage: Stage, kill: boolean): string {
  return `${opId}-${stage}${kill && stage !== "kill" ? ".k" : ""}`;
}

function parseStepId(opId: string, stepId: string): { stage: Stage; kill: boolean } | null {
  if (!stepId.startsWith(`${opId}-`)) return null;
  const rest = stepId.slice(opId.length + 1);
  const kill = rest.endsWith(".k");
  const stage = STAGES.find((s) => s === (kill ? rest.slice(0, -2) : rest));
  return stage ? { stage, kill: kill || stage === "kill" } : null;
}

function sendStage(
  env: Env,
  server: string,
  opId: string,
  stage: Stage,
  kill: boolean,
  why: string,
) {
  const step = stepOf(stage);
  env.actions.push({
    kind: "step",
    request: {
      cluster: env.state.cluster,
      server,
      opId,
      stepId: fenceStepId(opId, stage, kill),
      epoch: env.ctx.epoch,
      step,
    },
    timeoutMs: replyTimeoutMs(step, env.opts),
    reason: `${why}: ${describeStep(step)} on ${server}`,
  });
}

export function sendFences(env: Env, intents: FenceIntent[]) {
  const { state, ctx } = env;
  for (const f of intents) {
    const have = state.fences[f.server];
    if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) continue;
    const opId = ctx.newOpId();
    state.fences[f.server] = { opId, sentAt: ctx.now };
    sendStage(env, f.server, opId, "semi", f.kill, f.why);
  }
}

/** Result of a fence step; false when the id is not one of ours. */
export function onFenceResult(env: Env, opId: string, stepId: string, result: ExecResult): boolean {
  const entry = Object.entries(env.state.fences).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  const [server] = entry;
  const at = parseStepId(opId, stepId);
  if (!at) return true;
  if (result.ok) {
    env.state.stepContact[server] = env.ctx.now;
    if (at.stage === "ro") {
      env.state.readOnly[server] = { readOnly: true, at: env.ctx.now, by: "step", pending: false };
    }
  }
  // An operation that took the server over since handles read_only itself (a candidate is
  // made writable on purpose): the rest of the chain is not sent.
  if (env.state.operation?.steps.some((s) => s.server === server)) return true;
  const why = `fence ${opId} of ${server}, ${describeStep(stepOf(at.stage))} answered ${result.ok ? "ok" : (result.error?.code ?? "failed")}`;
  if (at.stage === "semi") sendStage(env, server, opId, "ro", at.kill, why);
  else if (at.stage === "ro" && at.kill) sendStage(env, server, opId, "kill", true, why);
  return true;
}
