// Which cluster's leader lease fences an agent request. The request names no cluster; the
// server it acts on does (`servers[].cluster` in the agent's config), and a `cancel` is
// fenced by the cluster of the operation it cancels. `status` only reads: not fenced.
import { type AgentAction, MarinaError } from "@marina/contracts";
import type { AgentConfig, AgentServerConfig } from "./config.js";
import type { OpRegistry } from "./ops/registry.js";

export function serverOf(cfg: AgentConfig, name: string): AgentServerConfig {
  const s = cfg.servers.find((x) => x.name === name);
  if (!s) {
    throw new MarinaError("UNKNOWN_SERVER", `server "${name}" is not on host ${cfg.host}`, {
      path: "payload.request.server",
    });
  }
  return s;
}

/** The cluster whose lease epoch the request must carry; null when it is not fenced. */
export function fencedCluster(
  cfg: AgentConfig,
  registry: OpRegistry,
  request: AgentAction,
): string | null {
  switch (request.action) {
    case "status":
    case "provision-facts":
    case "list-backups":
      return null;
    case "stop-server":
    case "start-server":
    case "kill-server":
    case "send-backup":
    case "receive-backup":
    case "persist-replication-filters":
    case "take-backup":
    case "restore-backup":
    case "prune-backups":
      return serverOf(cfg, request.server).cluster;
    case "cancel": {
      const target = registry.get(request.opId);
      if (!target) {
        throw new MarinaError(
          "NOT_APPLICABLE",
          `no operation ${request.opId} on host ${cfg.host}`,
          {
            path: "payload.request.opId",
          },
        );
      }
      if (target.server === null) {
        throw new MarinaError("REFUSED", `operation ${request.opId} names no server to fence by`, {
          path: "payload.request.opId",
        });
      }
      return serverOf(cfg, target.server).cluster;
    }
    default: {
      const never: never = request;
      throw new Error(`unhandled action ${JSON.stringify(never)}`);
    }
  }
}
