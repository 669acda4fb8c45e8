import type { ClusterConfig } from "@marina/contracts/config";
import { domainsOf, parseGtidList, union } from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { currentObservation, knownWritable, maybeReachable } from "./knowledge.js";
import { historyOf } from "./plans/rejoin.js";
import type { DeciderState } from "./state.js";

// Which servers may take writes that are ours to stop: the diagnosis (ReplicaWritable,
// SplitBrainRisk), the operation engine's write guard and the writes restoration all ask
// here, so they agree on what "another writable server" means.

/**
 * Why a writable server that is not our primary is NOT our split brain, or null when it is.
 *
 * The decider runs per cluster and sees only its own cluster's servers. A multi-source
 * replica can belong to two clusters (p1 = {db1, db3}, p2 = {db2, db3}) and be promoted by
 * one of them: it is then writable, and the other cluster still sees a replica of its
 * primary. We judge "writable replica" per GTID domain: a server writes in its own
 * gtid_domain_id, so it is the primary of ANOTHER stream — and left alone — when
 *  1. its gtid_domain_id is none of ours (not our primary's gtid_domain_id, nor a domain in
 *     our primary's history): its writes cannot enter our domains or collide with our
 *     GTIDs; and
 *  2. it holds a domain from outside this cluster: one that is neither ours nor its own, so
 *     it replicates (or did) from a primary we do not manage — it is a multi-source member.
 * Rule 2 keeps the fence for the plain case of a replica given its own domain id and
 * written to by mistake (its history is our domains plus its own: fenced as before). A
 * replica in several streams that is made writable by hand is not fenced either: its
 * writes stay in its own domain, outside every stream that replicates into it.
 */
export function writableForOtherDomain(
  server: Pick<
    ServerObservation,
    "gtidDomainId" | "gtidBinlogPos" | "gtidCurrentPos" | "gtidSlavePos"
  >,
  primary: Pick<
    ServerObservation,
    "gtidDomainId" | "gtidBinlogPos" | "gtidBinlogState" | "gtidCurrentPos" | "gtidSlavePos"
  >,
): string | null {
  const ours = new Set([primary.gtidDomainId, ...domainsOf(historyOf(primary))]);
  if (ours.has(server.gtidDomainId)) return null;
  const held = domainsOf(
    union(
      parseGtidList(server.gtidBinlogPos),
      parseGtidList(server.gtidCurrentPos),
      parseGtidList(server.gtidSlavePos),
    ),
  );
  const foreign = held.filter((d) => !ours.has(d) && d !== server.gtidDomainId);
  if (foreign.length === 0) return null;
  const list = [...ours].sort((a, b) => a - b).join(",");
  return `writes in GTID domain ${server.gtidDomainId}, not one of this cluster's (${list}), and carries domain ${foreign.join(",")} from outside it: a primary of another replication stream`;
}

/** writableForOtherDomain on what we know: the server's current sample, the primary's latest. */
export function otherStreamPrimary(
  state: DeciderState,
  config: ClusterConfig,
  name: string,
  now: number,
): string | null {
  const primary = state.primary;
  if (primary === null || name === primary) return null;
  const obs = currentObservation(state, config, name, now);
  // The primary's domains do not change when it goes away: its last sample will do.
  const primaryObs = state.lastObservation[primary]?.observation;
  return obs && primaryObs ? writableForOtherDomain(obs, primaryObs) : null;
}

/**
 * The other servers that may be reachable and may be writable: what must be fenced before
 * `server` is made writable (the primary of another replication stream is not ours).
 */
export function writableOthers(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): string[] {
  return config.servers
    .map((s) => s.name)
    .filter(
      (n) =>
        n !== server &&
        knownWritable(state, n) &&
        maybeReachable(state, config, n, now) &&
        otherStreamPrimary(state, config, n, now) === null,
    );
}
