import type { AgentAction, BackupPruneResult } from "@marina/contracts/agent";
import type { ClusterConfig } from "@marina/contracts/config";
import type { DryRunReport } from "@marina/contracts/dry-run";
import type { ClusterEvent } from "@marina/contracts/events";
import { acceptedBesideReport, dryPhase } from "../provision/dry-run.js";

// prune-backups' words and records: what the reply, the final event and the dry-run say of
// what the agent deleted (or would delete), and the BackupsPruned event. The selection itself
// is the agent's (it sees the directories, and runs it under its per-server registry).

export type PruneAction = Extract<AgentAction, { action: "prune-backups" }>;

const MB = 1048576;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
/** Ids named in a summary: the first few (hundreds of hourly backups must fit a message). */
const LISTED_IDS = 8;
const idList = (xs: readonly { id: string }[]) => {
  const named = xs.slice(0, LISTED_IDS).map((x) => x.id);
  const more = xs.length > LISTED_IDS ? `, … and ${xs.length - LISTED_IDS} more` : "";
  return `${named.join(", ")}${more}` || "none";
};

const WORDS = {
  would: ["would delete", "would keep"],
  now: ["deleting", "keeping"],
  done: ["deleted", "kept"],
} as const;

/**
 * `deleted 2 backup(s) of db3 (20261201T…, …), 120.5 MB; kept 1 (…)`: a dry-run's, a start's,
 * an end's. At most LISTED_IDS ids per list (the full lists are the result's data), and never
 * over 4000 characters: it goes into messages and event reasons the schemas cap at 4096.
 */
export function pruneSummary(r: BackupPruneResult, tense: keyof typeof WORDS): string {
  const [did, keep] = WORDS[tense];
  const skipped =
    r.skipped.length > 0 ? `; left alone ${r.skipped.length} (${idList(r.skipped)})` : "";
  return `${did} ${r.deleted.length} backup(s) of ${r.server} (${idList(r.deleted)}), ${mb(r.bytesFreed)}; ${keep} ${r.kept.length} (${idList(r.kept)})${skipped}`.slice(
    0,
    4000,
  );
}

/** The accepted dry-run: the one agent call the prune would send, and what it would delete now. */
export function pruneAcceptedReport(
  host: string,
  action: PruneAction,
  now: BackupPruneResult,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
): DryRunReport {
  const message = pruneSummary(now, "would");
  const report = acceptedBesideReport("prune-backups", "prune", {
    servers: { target: action.server },
    phases: [
      dryPhase(
        {
          name: "prune",
          message: `${action.server}: on ${host}, ${message}`,
          steps: [],
          calls: [{ key: "prune", host, server: action.server, action }],
        },
        true,
        [],
        configOf,
      ),
    ],
    message,
    reason,
    assumptions: [
      "no backup of the server ends or is removed between this answer and the prune (the agent selects again when it deletes)",
    ],
  });
  return now.deleted.length === 0
    ? report
    : {
        ...report,
        events: [{ situation: "BackupsPruned", server: action.server, reason: message }],
      };
}

/** The event on the cluster's events subject once backups were deleted. */
export function backupsPrunedEvent(
  cluster: string,
  epoch: number,
  opId: string,
  host: string,
  action: PruneAction,
  r: BackupPruneResult,
): ClusterEvent {
  return {
    cluster,
    situation: "BackupsPruned",
    actionable: false,
    server: r.server,
    reason: `${pruneSummary(r, "done")} on ${host}`.slice(0, 4096),
    epoch,
    extraGtids: null,
    details: {
      opId,
      host,
      keep: action.keep,
      olderThanDays: action.olderThanDays ?? null,
      deleted: r.deleted.map((d) => d.id).join(","),
      kept: r.kept.map((d) => d.id).join(","),
      bytesFreed: r.bytesFreed,
    },
  };
}
