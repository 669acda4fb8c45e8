import type { ClusterConfig } from "@marina/contracts/config";
import { agentSaysDown, connectionsTo, currentObservation, recentSamples } from "./knowledge.js";
import { freshMs } from "./options.js";
import type { DeciderState } from "./state.js";

// Rule 1, failure verification. A primary is dead only when every monitor that sampled it
// lately failed to reach it (enough times in a row) AND the replica side agrees: every
// reachable replica replicating from it has lost it, or its host agent says mariadbd is gone.
// "Lost" is IO thread not running, or no event/heartbeat for failover.replicaQuietMs — the
// monitor's quietMs already counts either moving (heartbeats alone stop under write load).

export const PrimaryVerdicts = {
  /** A monitor reaches it. */
  healthy: "healthy",
  /** No monitor sampled it lately: nothing to judge by. */
  unknown: "unknown",
  /**
   * Monitors just lost it and the replicas were last sampled before that: nothing is known
   * of the replica side yet (bounded by the sample freshness window).
   */
  suspect: "suspect",
  /** Monitors lost it but the replica side does not agree (yet). */
  unreachableByMonitor: "unreachable-by-monitor",
  /** Replicas lost it too, but the monitors have not failed often enough yet. */
  unreachableSeenByReplicas: "unreachable-seen-by-replicas",
  dead: "dead",
} as const;
export type PrimaryVerdict = (typeof PrimaryVerdicts)[keyof typeof PrimaryVerdicts];

export interface MonitorView {
  monitor: string;
  reachable: boolean;
  consecutiveFailures: number;
}

export interface ReplicaView {
  server: string;
  /** When the sample this view comes from was received. */
  seenAt: number;
  connection: string;
  ioThread: string;
  quietMs: number | null;
  lost: boolean;
  why: string;
}

export interface PrimaryAssessment {
  primary: string;
  verdict: PrimaryVerdict;
  reason: string;
  monitors: MonitorView[];
  /** Reachable replicas with a connection to the primary, and what each says. */
  replicas: ReplicaView[];
  /** Host whose agent reports mariadbd of the primary not running. */
  agentDown: string | null;
  /** Other servers reachable now (there must be one to call the primary dead). */
  reachableOthers: string[];
}

export function assessPrimary(
  state: DeciderState,
  config: ClusterConfig,
  primary: string,
  now: number,
  agentFreshMs: number,
): PrimaryAssessment {
  const f = config.failover;
  const monitors: MonitorView[] = recentSamples(state, config, primary, now).map((r) => ({
    monitor: r.sample.monitor,
    reachable: r.sample.reachable,
    consecutiveFailures: r.sample.consecutiveFailures,
  }));
  const replicas: ReplicaView[] = [];
  const reachableOthers: string[] = [];
  for (const s of config.servers) {
    if (s.name === primary) continue;
    const obs = currentObservation(state, config, s.name, now);
    if (!obs) continue;
    reachableOthers.push(s.name);
    for (const c of connectionsTo(config, obs, primary)) {
      const ioDown = c.ioThread !== "Yes";
      const quiet = c.quietMs !== null && c.quietMs >= f.replicaQuietMs;
      replicas.push({
        server: s.name,
        seenAt: state.lastObservation[s.name]?.at ?? 0,
        connection: c.connection,
        ioThread: c.ioThread,
        quietMs: c.quietMs,
        lost: ioDown || quiet,
        why: ioDown
          ? `IO thread ${c.ioThread}`
          : quiet
            ? `nothing heard for ${c.quietMs} ms`
            : `IO thread Yes, heard ${c.quietMs === null ? "(not yet measured)" : `${c.quietMs} ms ago`}`,
      });
    }
  }
  const agentDown = agentSaysDown(state, primary, now, agentFreshMs);
  const base = { primary, monitors, replicas, agentDown, reachableOthers };

  if (monitors.length === 0) {
    return { ...base, verdict: "unknown", reason: `no monitor sampled ${primary} lately` };
  }
  const reaching = monitors.filter((m) => m.reachable);
  if (reaching.length > 0) {
    return {
      ...base,
      verdict: "healthy",
      reason: `reachable by ${reaching.map((m) => m.monitor).join(", ")}`,
    };
  }
  const hearing = replicas.filter((r) => !r.lost);
  // The agent's word that mariadbd is gone stands in for the replicas' (it knows first).
  const replicaSide =
    agentDown !== null
      ? `agent on ${agentDown} reports mariadbd not running`
      : replicas.length > 0 && hearing.length === 0
        ? `every replica lost it: ${replicas.map((r) => `${r.server} (${r.why})`).join(", ")}`
        : null;
  const downSince = state.downSince[primary];
  const before = downSince === undefined ? [] : hearing.filter((r) => r.seenAt < downSince);
  if (
    replicaSide === null &&
    hearing.length > 0 &&
    before.length === hearing.length &&
    downSince !== undefined &&
    now - downSince < freshMs(config)
  ) {
    return {
      ...base,
      verdict: "suspect",
      reason: `monitors lost ${primary} ${now - downSince} ms ago; waiting for replica samples taken since (${before
        .map((r) => r.server)
        .join(", ")})`,
    };
  }
  if (replicaSide === null && hearing.length > 0) {
    return {
      ...base,
      verdict: "unreachable-by-monitor",
      reason: `monitors cannot reach ${primary} but replicas still hear it: ${hearing
        .map((r) => `${r.server} (${r.why})`)
        .join(", ")}`,
    };
  }
  if (replicaSide === null || reachableOthers.length === 0) {
    return {
      ...base,
      verdict: "unreachable-by-monitor",
      reason:
        reachableOthers.length === 0
          ? `monitors cannot reach ${primary} nor any other server: cannot confirm it failed`
          : `monitors cannot reach ${primary}; no reachable replica replicates from it to confirm`,
    };
  }
  const short = monitors.filter((m) => m.consecutiveFailures < f.failuresBeforeDead);
  if (short.length > 0) {
    return {
      ...base,
      verdict: "unreachable-seen-by-replicas",
      reason: `${replicaSide}; waiting for ${f.failuresBeforeDead} consecutive failures (${short
        .map((m) => `${m.monitor}: ${m.consecutiveFailures}`)
        .join(", ")})`,
    };
  }
  return {
    ...base,
    verdict: "dead",
    reason: `unreachable by ${monitors.map((m) => `${m.monitor} (${m.consecutiveFailures} failures)`).join(", ")}; ${replicaSide}`,
  };
}
