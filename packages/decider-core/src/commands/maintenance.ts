import type { CommandReply } from "@marina/contracts/commands";
import { cancelOperation } from "../engine/operation.js";
import { isKnownServer } from "../knowledge.js";
import type { CommandCall } from "./handler.js";
import { ok, refuse, unknownServer } from "./replies.js";

// The commands that change what the decider may do, not the servers: maintenance, the
// failover limits, cancelling the running operation.

export function setMaintenanceCommand({
  env,
  verb,
  payload,
}: CommandCall<"set-maintenance">): CommandReply {
  const { server, reason } = payload;
  if (!isKnownServer(env.ctx.config, server)) return unknownServer(env, verb, server, "server");
  env.state.maintenance[server] = { since: env.ctx.now, reason: reason ?? "set by command" };
  return ok(
    verb,
    `${server} is in maintenance: never promoted, never repointed or fenced automatically`,
  );
}

export function clearMaintenanceCommand({
  env,
  verb,
  payload,
}: CommandCall<"clear-maintenance">): CommandReply {
  const { server } = payload;
  if (!isKnownServer(env.ctx.config, server)) return unknownServer(env, verb, server, "server");
  const was = env.state.maintenance[server] !== undefined;
  delete env.state.maintenance[server];
  return ok(verb, was ? `${server} is out of maintenance` : `${server} was not in maintenance`);
}

export function resetFailoverLimitsCommand({
  env,
  verb,
}: CommandCall<"reset-failover-limits">): CommandReply {
  const n = env.state.failovers.length;
  env.state.failovers = [];
  const held = env.state.vetoHold ? "; the hold of the last veto lifted" : "";
  env.state.vetoHold = null;
  return ok(verb, `failover cooldown and window cleared (${n} failovers forgotten)${held}`);
}

export function cancelCommand({ env, verb, payload }: CommandCall<"cancel">): CommandReply {
  const { opId, reason } = payload;
  const op = env.state.operation;
  if (!op || op.opId !== opId) {
    return refuse(verb, "NOT_APPLICABLE", `no running operation ${opId}`, "opId");
  }
  const message = cancelOperation(env, reason ?? "cancelled by command");
  return ok(verb, message, { opId });
}
