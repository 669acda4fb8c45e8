import type { ErrorBody } from "@marina/contracts/commands";
import type { OperationEvent, OperationState } from "@marina/contracts/operations";
import type { Env } from "../plans/common.js";
import type { Operation } from "../state.js";

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function emitOperation(
  op: Operation,
  env: Env,
  state: OperationState,
  message: string,
  error: ErrorBody | null = null,
  progress: OperationEvent["progress"] = null,
) {
  const ended = state === "running" ? null : iso(env.ctx.now);
  const event: OperationEvent = {
    cluster: env.state.cluster,
    opId: op.opId,
    kind: op.kind,
    state,
    phase: op.phase === "" ? "start" : op.phase,
    epoch: env.ctx.epoch,
    servers: op.servers,
    message: message.slice(0, 4096),
    progress,
    startedAt: iso(op.startedAt),
    endedAt: ended,
    error,
    timings: { ...op.timings },
  };
  env.actions.push({
    kind: "operation",
    event,
    reason: `${op.kind} ${op.opId} ${state} (${event.phase}): ${message}`,
  });
}
