// Records what Marina publishes about a cluster (topology, events, operations), for tests,
// benchmarks and the demo's live view.
import {
  type ClusterEvent,
  ClusterEventMessage,
  type ClusterTopology,
  EVENTS_STREAM,
  type MessageSchema,
  type ObservedTopology,
  ObservedTopologyMessage,
  type OperationEvent,
  OperationMessage,
  parseOnSubject,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";

/** `source`: who published it (the envelope's: a decider's or a monitor's id). */
export type Observed =
  | { kind: "topology"; at: number; source: string; topology: ClusterTopology }
  | { kind: "event"; at: number; source: string; event: ClusterEvent }
  | { kind: "operation"; at: number; source: string; operation: OperationEvent }
  | { kind: "observed"; at: number; source: string; observed: ObservedTopology };

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

/** Warnings go to stderr, so what the sandbox prints on stdout stays what Marina published. */
let warnings: Logger | undefined;
const stderrWarnings = (): Logger =>
  (warnings ??= pino({ name: "marina-observer", level: "warn" }, pino.destination(2)));

/** How long the observer keeps trying to read a stored topology: 60 × 500 ms. */
const STORED_READ_ATTEMPTS = 60;
const STORED_READ_EVERY_MS = 500;

export function observe(
  nc: NatsConnection,
  cluster: string,
  onRecord?: (o: Observed) => void,
  log: Logger = stderrWarnings(),
): Observer {
  const seen: Observed[] = [];
  const waiters = new Set<{ match: (o: Observed) => boolean; resolve: (o: Observed) => void }>();
  const add = (o: Observed) => {
    seen.push(o);
    onRecord?.(o);
    for (const w of waiters) if (w.match(o)) w.resolve(o);
  };
  // Only Marina publishes here, but anyone can: a message that is invalid, or names another
  // cluster or operation than its subject, is skipped with a warning.
  const read = <P>(
    subject: string,
    schema: MessageSchema<P>,
    record: (p: P, source: string) => void,
  ) =>
    nc.subscribe(subject, {
      callback: (_e, m) => {
        const r = parseOnSubject(schema, m.subject, m.data);
        // Every message schema is an envelope, and an envelope names its source.
        if (r.ok) record(r.value.payload, (r.value as unknown as { source: string }).source);
        else log.warn({ subject: m.subject, error: r.error }, "invalid message skipped");
      },
    });
  const at = () => performance.now();
  const subs: Subscription[] = [
    read(subjects.topology(cluster), TopologyMessage, (topology, source) =>
      add({ kind: "topology", at: at(), source, topology }),
    ),
    read(subjects.events(cluster), ClusterEventMessage, (event, source) =>
      add({ kind: "event", at: at(), source, event }),
    ),
    read(subjects.observed(cluster), ObservedTopologyMessage, (observed, source) =>
      add({ kind: "observed", at: at(), source, observed }),
    ),
    read(subjects.opAll(cluster), OperationMessage, (operation, source) =>
      add({ kind: "operation", at: at(), source, operation }),
    ),
  ];
  // The decider publishes a topology when it changes: one published before this subscribed
  // is read from the events stream, unless a live one came first. The read is tried again
  // until a topology is seen: a topology published just before the subscription may not be
  // stored yet (an R3 stream stores it once a majority has it), and a read may fail during
  // a stream leader election (CI once waited 30 s for a topology published before this).
  let closed = false;
  const sawTopology = () => seen.some((o) => o.kind === "topology");
  void (async () => {
    const jsm = await jetstreamManager(nc).catch(() => undefined);
    for (let attempt = 0; jsm && attempt < STORED_READ_ATTEMPTS; attempt++) {
      if (closed || sawTopology()) return;
      const m = await jsm.streams
        .getMessage(EVENTS_STREAM, { last_by_subj: subjects.topology(cluster) })
        .catch(() => null);
      if (closed || sawTopology()) return;
      const r = m ? parseOnSubject(TopologyMessage, m.subject, m.data) : undefined;
      if (m && r?.ok) {
        const source = (r.value as unknown as { source: string }).source;
        add({ kind: "topology", at: at(), source, topology: r.value.payload });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, STORED_READ_EVERY_MS));
    }
  })();
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
      closed = true;
      for (const s of subs) s.unsubscribe();
    },
  } as Observer;
}
