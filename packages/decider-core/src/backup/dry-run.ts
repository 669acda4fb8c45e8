import type { AgentAction } from "@marina/contracts/agent";
import type { ClusterConfig } from "@marina/contracts/config";
import type { DryRunPhase, DryRunReport } from "@marina/contracts/dry-run";
import { acceptedBesideReport, dryPhase } from "../provision/dry-run.js";
import type { ProvisionPhase } from "../provision/plan.js";
import { type RestoreInput, restoreAttach, restoreDatadir } from "./restore.js";

// The dry-runs of backup and restore-backup: what the agent and the executors would be asked.

function accepted(
  verb: string,
  kind: "backup" | "restore",
  server: string,
  reason: string,
  message: string,
  phases: DryRunPhase[],
  assumptions: string[],
): DryRunReport {
  return acceptedBesideReport(verb, kind, {
    servers: { target: server },
    phases,
    message,
    reason,
    assumptions,
  });
}

/** The backup: one agent call, everything on the server's host. */
export function backupAcceptedReport(
  server: string,
  host: string,
  action: Extract<AgentAction, { action: "take-backup" }>,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
): DryRunReport {
  const phase: ProvisionPhase = {
    name: "backup",
    message: `${server}: SQL threads stopped, mariadb-backup into its host's backupDir, started again`,
    steps: [],
    calls: [{ key: "backup", host, server, action }],
  };
  return accepted(
    "backup",
    "backup",
    server,
    reason,
    `would back up ${server} on ${host}`,
    [dryPhase(phase, true, [], configOf)],
    ["the replication SQL threads of the server stay stopped while mariadb-backup runs"],
  );
}

/** The restore: the datadir replaced, then every connection of the manifest again. */
export function restoreAcceptedReport(
  p: RestoreInput,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
): DryRunReport {
  return accepted(
    "restore-backup",
    "restore",
    p.server,
    reason,
    `would restore ${p.server} from backup ${p.manifest.id} and re-attach ${p.manifest.connections.length} connection(s)`,
    [
      dryPhase(restoreDatadir(p), true, [], configOf),
      dryPhase(restoreAttach(p), false, ["the restore succeeding"], configOf),
    ],
    [
      "every source cluster keeps its primary until the attach",
      "the agent sets read_only=1 on the restored server right after it starts, before it answers",
    ],
  );
}
