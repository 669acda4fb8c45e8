// The recent events list: each situation with a severity an operator can scan for (and a
// word saying it, not only a colour), operation news in between.
import type { Situation } from "@marina/contracts";
import type { FeedItem } from "./state.js";

export type Severity = "critical" | "warning" | "info";

/** Every situation's severity: a new situation in the contracts is a compile error here. */
export const SITUATION_SEVERITY = {
  PrimaryHealthy: "info",
  PrimaryReadOnly: "warning",
  NoPrimaryKnown: "warning",
  PrimaryUnreachableByMonitor: "warning",
  PrimaryUnreachableSeenByReplicas: "warning",
  PrimaryDead: "critical",
  PrimaryDeadNoCandidate: "critical",
  FailoverBlocked: "critical",
  ReplicaLagging: "warning",
  ReplicaBroken: "warning",
  ReplicaWritable: "warning",
  ReplicaUnreachable: "warning",
  OldPrimaryReturned: "info",
  OldPrimaryDiverged: "critical",
  ServerDiverged: "critical",
  SplitBrainRisk: "critical",
  MaintenanceSet: "info",
  DurabilityWeakened: "warning",
  AllServersDown: "critical",
  BinlogsSaved: "info",
  BinlogSaveFailed: "warning",
  Paused: "warning",
  Resumed: "info",
  BackupsPruned: "info",
} as const satisfies Record<Situation, Severity>;

export function severityOf(situation: string): Severity {
  return (SITUATION_SEVERITY as Record<string, Severity>)[situation] ?? "warning";
}

export interface FeedRow {
  readonly key: string;
  readonly time: string;
  readonly severity: Severity;
  /** The situation's name, or the operation's kind. */
  readonly title: string;
  readonly server: string | null;
  readonly text: string;
}

export function feedRows(feed: readonly FeedItem[]): FeedRow[] {
  return feed.map((f, i) => {
    if (f.kind === "event") {
      const e = f.event;
      return {
        key: `${f.time}|${i}`,
        time: f.time,
        severity: severityOf(e.situation),
        title: e.situation,
        server: e.server,
        text: e.reason,
      };
    }
    return {
      key: `${f.time}|${i}`,
      time: f.time,
      severity: f.state === "failed" ? "critical" : "info",
      title: "operation",
      server: null,
      text: f.text,
    };
  });
}
