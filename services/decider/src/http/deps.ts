// What the HTTP API needs from the decider and from NATS, as interfaces: tests build it
// over the in-memory bus and a fake reader; start.ts over the real decider and JetStream.
import type {
  ClusterEvent,
  ClusterTopology,
  CommandReply,
  CommandVerb,
  OperationEvent,
  OperationRecord,
} from "@marina/contracts";

/** Commands through the decider's own intake (commands.ts): as if sent on `cmd.<verb>`. */
export interface CommandSubmitter {
  /** Rejects with MarinaError TIMEOUT when no reply came within `timeoutMs`. */
  command(
    cluster: string,
    verb: CommandVerb,
    body: string,
    timeoutMs: number,
  ): Promise<CommandReply>;
}

/** One message the leading decider published on a cluster's subjects. */
export type Published =
  | { readonly kind: "event"; readonly time: string; readonly payload: ClusterEvent }
  | { readonly kind: "topology"; readonly time: string; readonly payload: ClusterTopology }
  | { readonly kind: "operation"; readonly time: string; readonly payload: OperationEvent };

export type PublishedKind = Published["kind"];

export interface RecentQuery {
  readonly limit: number;
  /** Only what was stored since then. */
  readonly since: Date;
  readonly kinds: readonly PublishedKind[];
}

/** What the deciders stored in MARINA_EVENTS and MARINA_HISTORY. */
export interface PublishedReader {
  lastTopology(cluster: string): Promise<ClusterTopology | null>;
  /** The last `limit` messages of those kinds, oldest first. */
  recent(cluster: string, q: RecentQuery): Promise<Published[]>;
  /** The last `limit` records, oldest first. */
  history(cluster: string, q: { limit: number; since?: Date }): Promise<OperationRecord[]>;
  historyRecord(cluster: string, id: string): Promise<OperationRecord | null>;
  /** Delivers what is published from now on until `signal` aborts; resolves once listening. */
  follow(cluster: string, deliver: (p: Published) => void, signal: AbortSignal): Promise<void>;
}
