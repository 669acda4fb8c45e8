// The agent's start-up privilege check: the backup account's grants on each server it
// serves (over the socket, or the SSH forward to it), against BACKUP_NEEDS — a physical
// rebuild's donor required; a logical rebuild's donor and target optional; with self-fencing
// on, SELF_FENCE_NEEDS too. A server down
// at start is noted and skipped: the agent starts anyway.
import {
  BACKUP_NEEDS,
  checkPrivileges,
  type PrivilegeCheckResult,
  SELF_FENCE_NEEDS,
} from "@marina/mariadb";
import type { Logger } from "pino";
import type { AgentServerConfig } from "./config.js";
import { accountGrants, type LocalAccount } from "./host/local-sql.js";

export function checkBackupPrivileges(
  servers: readonly AgentServerConfig[],
  user: string,
  accountOf: (s: AgentServerConfig) => LocalAccount,
  log: Logger,
  selfFence: boolean,
): Promise<PrivilegeCheckResult[]> {
  return checkPrivileges(
    "agent",
    servers.map((s) => ({
      server: s.name,
      labels: { cluster: s.cluster },
      user,
      read: () => accountGrants(accountOf(s)),
    })),
    selfFence ? [...BACKUP_NEEDS, ...SELF_FENCE_NEEDS] : BACKUP_NEEDS,
    log,
  );
}
