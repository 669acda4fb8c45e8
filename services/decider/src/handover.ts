// When a leader that is not a cluster's preferred owner gives the lease up. Pure: the
// sharing loop (sharing.ts) gathers the facts, this says yes or why not.
//
// Handing over costs a short leaderless gap (until the preferred decider's next attempt), so
// it happens only when nothing is lost by it: the cluster is quiet (no operation running, its
// primary not seen down), and the preferred decider has been alive long enough that it is not
// a flapping one. A handover that did not stick (we took the cluster back through the grace
// path: the preferred decider did not take it) backs off, doubling.

export interface HandoverFacts {
  /** This decider holds the lease now. */
  readonly leading: boolean;
  readonly self: string;
  /** The preferred owner among the live deciders; undefined: none known. */
  readonly preferred: string | undefined;
  /** How long the preferred decider has been seen alive without a break. */
  readonly preferredAliveMs: number;
  /** No operation running and the primary not seen down (ClusterRunner.quiet). */
  readonly quiet: boolean;
  /** Time since this decider last handed this cluster over; undefined: never. */
  readonly sinceLastHandoverMs: number | undefined;
  /** Handovers of this cluster that did not stick, in a row. */
  readonly failedHandovers: number;
}

export interface HandoverPolicy {
  /** The preferred decider must have been alive this long. */
  readonly stableMs: number;
  /** Least time between two handovers of one cluster; doubled per failed one. */
  readonly backoffMs: number;
  /** Upper bound of the doubled backoff. */
  readonly maxBackoffMs: number;
}

export type HandoverVerdict =
  | { readonly handOver: true; readonly to: string }
  | {
      readonly handOver: false;
      readonly why: "not-leader" | "preferred" | "no-owner" | "not-stable" | "busy" | "backoff";
    };

/** The pause required after the last handover of a cluster. */
export function handoverBackoffMs(policy: HandoverPolicy, failedHandovers: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.min(failedHandovers, 20));
}

export function handoverVerdict(f: HandoverFacts, policy: HandoverPolicy): HandoverVerdict {
  if (!f.leading) return { handOver: false, why: "not-leader" };
  if (f.preferred === undefined) return { handOver: false, why: "no-owner" };
  if (f.preferred === f.self) return { handOver: false, why: "preferred" };
  if (f.preferredAliveMs < policy.stableMs) return { handOver: false, why: "not-stable" };
  if (!f.quiet) return { handOver: false, why: "busy" };
  if (
    f.sinceLastHandoverMs !== undefined &&
    f.sinceLastHandoverMs < handoverBackoffMs(policy, f.failedHandovers)
  ) {
    return { handOver: false, why: "backoff" };
  }
  return { handOver: true, to: f.preferred };
}
