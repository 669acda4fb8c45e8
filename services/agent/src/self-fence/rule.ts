// When the agent beside a primary fences it on its own (docs/operations.md, "Self-fencing").
// Pure: the watcher feeds it what it saw and carries out the verdict.
//
// The right to be primary is Marina's coordination being visible: the leading decider
// renews the cluster's lease in JetStream KV every TTL/4, and a renewal reaches the agent's
// watch only once a NATS majority stored it. No renewal seen for `afterMs` means this host
// may be cut off from Marina, which may then fail the primary over — and cannot STONITH it,
// since it cannot reach this agent either.
//
// That alone must not fence: a NATS outage, or every decider down, looks the same from
// here, and then Marina cannot fail over: a fenced primary would be an outage of its own
// making. So, like Patroni's failsafe mode, the primary keeps its writes while every server
// that could be promoted (a replica or relay in the last topology seen) is reachable from
// this host — the fault is then not between this host and its replicas. Writable, no
// coordination, and a candidate out of reach: fenced.
import type { ClusterTopology } from "@marina/contracts";

export interface Peer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** The servers that could be promoted, as the last topology showed them (not `self`). */
export function candidatePeers(topology: ClusterTopology, self: string): Peer[] {
  return topology.servers
    .filter((s) => s.name !== self && (s.role === "replica" || s.role === "relay"))
    .map((s) => ({ name: s.name, host: s.host, port: s.port }));
}

/**
 * Whether coordination is lost: the lease was seen renewed once (armed), and not since
 * `afterMs`. Never armed (no decider ever led, or no watch yet): not lost — nothing to lose.
 */
export function coordinationLost(lastRenewalSeenAt: number | null, now: number, afterMs: number) {
  return lastRenewalSeenAt !== null && now - lastRenewalSeenAt > afterMs;
}

export type SelfFenceVerdict =
  | { readonly fence: false; readonly reason: string }
  | { readonly fence: true; readonly reason: string; readonly unreachable: readonly string[] };

/**
 * With coordination lost and the server writable: fence unless every candidate peer
 * answered. `peers` null: no topology was ever read (no candidate known) — kept, since
 * nothing shows a failover is possible.
 */
export function selfFenceVerdict(
  peers: readonly { name: string; reachable: boolean }[] | null,
  lostForMs: number,
): SelfFenceVerdict {
  if (peers === null) {
    return { fence: false, reason: "no topology seen yet: the candidates are unknown" };
  }
  const unreachable = peers.filter((p) => !p.reachable).map((p) => p.name);
  if (unreachable.length === 0) {
    return {
      fence: false,
      reason:
        peers.length === 0
          ? "no replica could be promoted in the last topology"
          : `every candidate (${peers.map((p) => p.name).join(", ")}) is reachable: coordination is down, not this host`,
    };
  }
  return {
    fence: true,
    unreachable,
    reason: `no lease renewal seen for ${lostForMs} ms and ${unreachable.join(", ")} unreachable from this host: Marina may promote ${unreachable.length === 1 ? "it" : "one of them"} and cannot reach this agent to STONITH`,
  };
}
