import type { Command, CommandReply } from "@marina/contracts/commands";
import type { Env } from "../plans/common.js";
import { failoverCommand } from "./failover.js";
import { flashbackCommand } from "./flashback.js";
import type { CommandHandler, CommandVerb } from "./handler.js";
import {
  cancelCommand,
  clearMaintenanceCommand,
  resetFailoverLimitsCommand,
  setMaintenanceCommand,
} from "./maintenance.js";
import { pauseCommand, resumeCommand } from "./pause.js";
import { backupCommand, provisionReplicaCommand } from "./provision.js";
import { rebuildCommand } from "./rebuild.js";
import { rejoinCommand } from "./rejoin.js";
import { refuse } from "./replies.js";
import { statusCommand } from "./status.js";
import { switchoverCommand } from "./switchover.js";

// Rule 7, commands. Each is checked against the current knowledge and answered at once: an
// operation that starts is followed on op.<opId>; a refusal has a stable error code.

/** One handler per verb; the mapped type makes a missing verb a compile error. */
export const commandHandlers: { readonly [V in CommandVerb]: CommandHandler<V> } = {
  failover: failoverCommand,
  switchover: switchoverCommand,
  rejoin: rejoinCommand,
  rebuild: rebuildCommand,
  flashback: flashbackCommand,
  "set-maintenance": setMaintenanceCommand,
  "clear-maintenance": clearMaintenanceCommand,
  "reset-failover-limits": resetFailoverLimitsCommand,
  cancel: cancelCommand,
  status: statusCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  "provision-replica": provisionReplicaCommand,
  backup: backupCommand,
  backups: backupCommand,
  "restore-backup": backupCommand,
  "prune-backups": backupCommand,
};

export function handleCommand(env: Env, requestId: string, command: Command) {
  const r = answer(env, requestId, command);
  env.actions.push({
    kind: "reply",
    requestId,
    reply: r,
    reason: r.ok
      ? `${r.verb}: ${r.message}`
      : `${r.verb} refused (${r.error.code}): ${r.error.message}`,
  });
}

/** The handler's answer; what it changes is in `env` (a dry-run gives it a copy). */
export function answer(env: Env, requestId: string, command: Command): CommandReply {
  const verb = command.verb;
  if (!Object.hasOwn(commandHandlers, verb)) {
    return refuse(String(verb), "UNKNOWN_COMMAND", "unknown command");
  }
  // The table is keyed by verb, so the handler fetched for this verb accepts its payload.
  const handler = commandHandlers[verb] as CommandHandler<CommandVerb>;
  return handler({ env, requestId, verb, payload: command.payload as never });
}
