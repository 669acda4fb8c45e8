import type { CommandReply } from "@marina/contracts/commands";
import type { CommandCall } from "./handler.js";
import { refuse } from "./replies.js";

/**
 * provision-replica spans clusters (the target's and every source's), so the decider
 * service runs it beside the cores (services/decider/src/provision/), from the pure checks
 * and plan of ../provision/. A core reached by it directly (a replay) refuses it.
 */
export function provisionReplicaCommand({ verb }: CommandCall<"provision-replica">): CommandReply {
  return refuse(
    verb,
    "NOT_APPLICABLE",
    "provision-replica is run by the decider service, not by one cluster's core",
  );
}
