import type { CommandReply } from "@marina/contracts/commands";
import type { CommandCall } from "./handler.js";
import { refuse } from "./replies.js";

/**
 * provision-replica spans clusters (the target's and every source's), so the decider
 * service runs it beside the cores (services/decider/src/provision/), from the pure checks
 * and plan of ../provision/. A core reached by it directly (a replay) refuses it.
 */
export function provisionReplicaCommand({ verb }: CommandCall<"provision-replica">): CommandReply {
  return byTheService(verb);
}

/**
 * backup, backups, restore-backup and prune-backups go through the server's agent, and a restore
 * re-attaches connections to other clusters' primaries: run by the decider service too
 * (services/decider/src/backup/), from the pure parts in ../backup/.
 */
export function backupCommand({
  verb,
}: CommandCall<"backup" | "backups" | "restore-backup" | "prune-backups">): CommandReply {
  return byTheService(verb);
}

function byTheService(verb: string): CommandReply {
  return refuse(
    verb,
    "NOT_APPLICABLE",
    `${verb} is run by the decider service, not by one cluster's core`,
  );
}
