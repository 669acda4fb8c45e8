// Records what Marina publishes about a cluster (topology, events, operations), for tests,
// benchmarks and the demo's live view.
import {
  type ClusterEvent,
  ClusterEventMessage,
  type ClusterTopology,
  type ObservedTopology,
  ObservedTopologyMessage,
  type OperationEvent,
  OperationMessage,
  parseMessage,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export type Observed =
  | { kind: "topology"; at: number; topology: ClusterTopology }
  | { kind: "event"; at: number; event: ClusterEvent }
  | { kind: "operation"; at: number; operation: OperationEvent }
  | { kind: "observed"; at: number; observed: ObservedTopology };

export interface Observer {
  readonly seen: Observed[];
  topologies(): ClusterTopology[];
  events(): ClusterEvent[];
  operations(): OperationEvent[];
  /** Resolves with the first record (already seen or future) matching, or rejects on timeout. */
  waitFor<T extends Observed>(
    match: (o: Observed) => o is T,
    timeoutMs: number,
    what?: string,
  ): Promise<T>;
  waitFor(match: (o: Observed) => boolean, timeoutMs: number, what?: string): Promise<Observed>;
  close(): void;
}

export function observe(
  nc: NatsConnection,
  cluster: string,
  onRecord?: (o: Observed) => void,
): Observer {
  const seen: Observed[] = [];
  const waiters = new Set<{ match: (o: Observed) => boolean; resolve: (o: Observed) => void }>();
  const add = (o: Observed) => {
    seen.push(o);
    onRecord?.(o);
    for (const w of waiters) if (w.match(o)) w.resolve(o);
  };
  const subs: Subscription[] = [
    nc.subscribe(subjects.topology(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(TopologyMessage, m.data);
        if (r.ok) add({ kind: "topology", at: performance.now(), topology: r.value.payload });
      },
    }),
    nc.subscribe(subjects.events(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(ClusterEventMessage, m.data);
        if (r.ok) add({ kind: "event", at: performance.now(), event: r.value.payload });
      },
    }),
    nc.subscribe(subjects.observed(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(ObservedTopologyMessage, m.data);
        if (r.ok) add({ kind: "observed", at: performance.now(), observed: r.value.payload });
      },
    }),
    nc.subscribe(subjects.opAll(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(OperationMessage, m.data);
        if (r.ok) add({ kind: "operation", at: performance.now(), operation: r.value.payload });
      },
    }),
  ];
  return {
    seen,
    topologies: () => seen.flatMap((o) => (o.kind === "topology" ? [o.topology] : [])),
    events: () => seen.flatMap((o) => (o.kind === "event" ? [o.event] : [])),
    operations: () => seen.flatMap((o) => (o.kind === "operation" ? [o.operation] : [])),
    waitFor(match: (o: Observed) => boolean, timeoutMs: number, what = "a matching message") {
      const hit = seen.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise<Observed>((resolve, reject) => {
        const w = {
          match,
          resolve: (o: Observed) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(o);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          const last = seen.slice(-8).map((o) => JSON.stringify(o).slice(0, 300));
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; last seen:\n${last.join("\n")}`,
            ),
          );
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close() {
      for (const s of subs) s.unsubscribe();
    },
  } as Observer;
}
