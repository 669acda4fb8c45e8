import type { ClusterConfig } from "@marina/contracts/config";
import type { ServerObservation } from "@marina/contracts/health";
import {
  connectionsTo,
  observedSinceChange,
  reachability,
  recentSamples,
  serverConfig,
} from "./knowledge.js";
import type { DeciderOptions } from "./options.js";
import type { DeciderState } from "./state.js";

// The rule "no replica left acknowledging the old primary" (issue 13).
//
// A semi-sync primary acknowledges a write once ONE replica has it. So the replicas that
// were semi-sync replicas of the failed primary are where its acknowledged writes are, and
// where future acknowledgements could come from:
// - past: a write acknowledged by replica A alone is only on A (and the old primary). If A
//   cannot be inspected, the candidate cannot be checked against it nor pull from it, and
//   promoting another server may lose that write. The fault trials found it (seed 7002,
//   split {db1 + db2} | {Marina + db3}): at the heal the old primary's agent answered before
//   db2's samples did, STONITH killed db1, db3 was promoted, and the writes db1 and db2 had
//   acknowledged during the cut were lost. Killing or fencing the old primary does nothing
//   for these: they are already acknowledged;
// - future: while A still replicates from the old primary it acknowledges its new writes,
//   so both sides of a split could acknowledge writes.
// Both are settled only by A itself. A promotion completes when every server other than
// the failed primary and the candidate is detached by this failover (its STOP SLAVE
// succeeded: the candidate choice and the pulls saw it) or cannot hold such writes: what
// was last seen of it (not older than Marina's own last step on it) shows it is not a
// semi-sync replica of the failed primary; or it is down (every monitor's connection
// refused) since before the failed primary was last seen, and the candidate holds what the
// failed primary had then — everything that server ever received.
//
// Applied twice with the same function: before a failover starts (from the samples: a
// failover that could only be refused does not start) and before the promotion (with the
// operation's own detach results and the candidate's fresh positions). Without semi-sync
// nothing is acknowledged on a replica's behalf and the rule holds trivially (async
// replication can lose writes in any failover; docs/operations.md says so).

export interface AcknowledgerInput {
  readonly failed: string;
  /** Semi-sync on in the cluster's config (true or "strict"). */
  readonly semiSync: boolean;
  /** Servers that may hold, or still give, acknowledgements of the failed primary's writes. */
  readonly maybeAcknowledging: readonly { server: string; why: string }[];
}

export type AcknowledgerVerdict =
  | { readonly ok: true; readonly reason: string }
  | { readonly ok: false; readonly reason: string; readonly servers: readonly string[] };

/** The rule itself: pure, table-tested. */
export function acknowledgersSettled(input: AcknowledgerInput): AcknowledgerVerdict {
  const { failed } = input;
  if (!input.semiSync) {
    return { ok: true, reason: "no semi-sync: no replica acknowledges writes" };
  }
  if (input.maybeAcknowledging.length === 0) {
    return {
      ok: true,
      reason: `every replica that could hold or give ${failed}'s acknowledgements was seen`,
    };
  }
  const list = input.maybeAcknowledging.map((m) => `${m.server} (${m.why})`).join(", ");
  return {
    ok: false,
    servers: input.maybeAcknowledging.map((m) => m.server),
    reason: `${list} may hold writes ${failed} acknowledged that no reachable server has, or still acknowledge its writes: promoting another server could lose them or let two servers acknowledge writes`,
  };
}

/**
 * Every recent sample of every monitor says the connection was refused: the host answers,
 * mariadbd does not listen. (A firewall that REJECTs with a reset would look the same; the
 * lab's partitions, like most, DROP.)
 */
export function refusedByAll(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): boolean {
  const recent = recentSamples(state, config, server, now);
  return (
    recent.length > 0 &&
    recent.every((r) => !r.sample.reachable && r.sample.error?.kind === "refused")
  );
}

/**
 * Whether `server` may hold writes `failed` acknowledged, or still acknowledge its writes,
 * from the last thing known of it; null when it cannot. `candidateHolds`: whether the
 * candidate holds a GTID position (before the promotion; absent before a failover starts).
 */
export function mayAcknowledge(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  failed: string,
  now: number,
  candidateHolds?: (pos: string) => boolean,
  /**
   * After the whole cluster went down, with the loss accepted (an operator's acceptLoss or
   * failover.allDown's policy): a server whose mariadbd does not listen (every monitor
   * refused) can acknowledge nothing now, and what it acknowledged before is what was
   * accepted lost.
   */
  downLossAccepted = false,
): string | null {
  if (downLossAccepted && refusedByAll(state, config, server, now)) return null;
  const last: ServerObservation | undefined = state.lastObservation[server]?.observation;
  if (!last) return "never observed";
  if (!observedSinceChange(state, server)) return "changed by Marina since it was last seen";
  // The IO thread reads the slave setting when it connects: either says it may ack.
  if (!last.semiSync.slaveEnabled && !last.semiSync.slaveStatus) return null;
  const links = connectionsTo(config, last, failed).filter((c) => c.ioThread !== "No");
  if (links.length === 0) return null;
  // Down since before the failed primary was last seen: it holds nothing that primary did
  // not have then (a stopped server receives nothing), and the candidate has that.
  const lost = state.downSince[server];
  const seen = state.lastObservation[failed];
  if (
    refusedByAll(state, config, server, now) &&
    lost !== undefined &&
    seen !== undefined &&
    (seen.takenAt ?? seen.at) >= lost &&
    (candidateHolds === undefined || candidateHolds(seen.observation.gtidBinlogPos))
  ) {
    return null;
  }
  return "a semi-sync replica of it when last seen";
}

/**
 * The host whose agent is asked to kill `server`'s mariadbd before a promotion: STONITH is
 * on, the server names an agent host, and that agent's heartbeat was received within
 * `stonithHeartbeatFreshMs` (it answers). Its answer — killed, or not running — is what
 * counts, never the heartbeat itself.
 */
export function stonithHost(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
  opts: DeciderOptions,
): string | null {
  if (!config.failover.stonith) return null;
  const host = serverConfig(config, server)?.agentHost;
  if (!host) return null;
  const rec = state.heartbeats[host];
  if (!rec || now - rec.receivedAt > opts.stonithHeartbeatFreshMs) return null;
  return rec.heartbeat.servers.some((s) => s.name === server) ? host : null;
}

/** Before a failover starts: the servers other than the failed one it will not detach. */
export function acknowledgersBefore(
  state: DeciderState,
  config: ClusterConfig,
  failed: string,
  now: number,
  downLossAccepted = false,
): AcknowledgerVerdict {
  const maybe: { server: string; why: string }[] = [];
  for (const s of config.servers) {
    if (s.name === failed) continue;
    // A replica not known unreachable is inspected and detached by the failover (if that
    // fails, the check before the promotion refuses, and the attempt counts for the
    // cooldown); one in maintenance is left alone: it counts as last seen.
    if (
      reachability(state, config, s.name, now) !== "unreachable" &&
      state.maintenance[s.name] === undefined
    ) {
      continue;
    }
    const why = mayAcknowledge(state, config, s.name, failed, now, undefined, downLossAccepted);
    if (why !== null) maybe.push({ server: s.name, why: `not reachable now, ${why}` });
  }
  return acknowledgersSettled({
    failed,
    semiSync: config.semiSync !== false,
    maybeAcknowledging: maybe,
  });
}
