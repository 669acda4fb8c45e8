// The page's state and the pure reducers that fold what the API says into it: the status
// (polled), the topology, events and operations (Server-Sent Events), the history.
import type {
  ClusterEvent,
  ClusterTopology,
  OperationEvent,
  OperationRecord,
  Published,
  StatusData,
} from "./api-types.js";

/** A phase of an operation as the page saw it go by. */
export interface SeenPhase {
  readonly name: string;
  /** The time of the first message in this phase. */
  readonly since: string;
}

/** An operation followed over the stream: its last message and the phases it went through. */
export interface TrackedOperation {
  readonly last: OperationEvent;
  readonly phases: readonly SeenPhase[];
  /** When the page received the last message (its own clock, ms). */
  readonly receivedAt: number;
}

export type FeedItem =
  | { readonly kind: "event"; readonly time: string; readonly event: ClusterEvent }
  | {
      readonly kind: "operation";
      readonly time: string;
      readonly opId: string;
      readonly text: string;
      readonly state: OperationEvent["state"];
    };

export type Connection = "connecting" | "live" | "reconnecting" | "unauthorized";

export interface DashboardState {
  readonly status: StatusData | null;
  /** When the page received the status (its own clock, ms). */
  readonly statusAt: number | null;
  /** Why the last status could not be read (null: it was). */
  readonly statusError: string | null;
  readonly topology: ClusterTopology | null;
  /** By opId, in the order first seen. */
  readonly operations: Readonly<Record<string, TrackedOperation>>;
  /** Newest first. */
  readonly feed: readonly FeedItem[];
  /** Newest first. */
  readonly history: readonly OperationRecord[];
  readonly stream: Connection;
}

export const FEED_MAX = 60;
export const OPERATIONS_KEPT = 10;

export const initialState: DashboardState = {
  status: null,
  statusAt: null,
  statusError: null,
  topology: null,
  operations: {},
  feed: [],
  history: [],
  stream: "connecting",
};

/** A topology replaces the one known only when it is as new or newer (by generation). */
function newerTopology(known: ClusterTopology | null, t: ClusterTopology): ClusterTopology {
  if (!known || known.epoch !== t.epoch) return t;
  return t.generation >= known.generation ? t : known;
}

function operationText(e: OperationEvent): string {
  const state = e.state === "running" ? (e.phase ? `phase ${e.phase}` : "started") : e.state;
  return `${e.kind} ${state}: ${e.message}`;
}

function track(
  ops: Readonly<Record<string, TrackedOperation>>,
  e: OperationEvent,
  time: string,
  receivedAt: number,
): Record<string, TrackedOperation> {
  const prev = ops[e.opId];
  const phases = prev ? [...prev.phases] : [];
  if (e.phase !== "" && phases.at(-1)?.name !== e.phase)
    phases.push({ name: e.phase, since: time });
  const next = { ...ops, [e.opId]: { last: e, phases, receivedAt } };
  const ids = Object.keys(next);
  for (const id of ids.slice(0, Math.max(0, ids.length - OPERATIONS_KEPT))) delete next[id];
  return next;
}

/** A changed phase or state is news; a progress tick within a phase is not. */
function isNews(prev: TrackedOperation | undefined, e: OperationEvent): boolean {
  return !prev || prev.last.phase !== e.phase || prev.last.state !== e.state;
}

/** `now`: the page's clock when the message arrived. */
export function applyPublished(s: DashboardState, p: Published, now: number): DashboardState {
  switch (p.kind) {
    case "topology":
      return { ...s, topology: newerTopology(s.topology, p.payload) };
    case "event": {
      const item: FeedItem = { kind: "event", time: p.time, event: p.payload };
      return { ...s, feed: [item, ...s.feed].slice(0, FEED_MAX) };
    }
    case "operation": {
      const e = p.payload;
      const prev = s.operations[e.opId];
      const feed: FeedItem[] = isNews(prev, e)
        ? [
            {
              kind: "operation",
              time: p.time,
              opId: e.opId,
              text: operationText(e),
              state: e.state,
            },
            ...s.feed,
          ]
        : [...s.feed];
      return {
        ...s,
        operations: track(s.operations, e, p.time, now),
        feed: feed.slice(0, FEED_MAX),
      };
    }
    default: {
      const never: never = p;
      return never;
    }
  }
}

export function applyStatus(s: DashboardState, status: StatusData, now: number): DashboardState {
  return { ...s, status, statusAt: now, statusError: null };
}

export function applyStatusError(s: DashboardState, message: string): DashboardState {
  return { ...s, statusError: message };
}

/** `GET …/history` answers oldest first; the page lists newest first. */
export function applyHistory(
  s: DashboardState,
  records: readonly OperationRecord[],
): DashboardState {
  return { ...s, history: [...records].reverse() };
}

/** The recent events (`GET …/events`, oldest first) under what the stream already brought. */
export function applyRecentEvents(
  s: DashboardState,
  recent: readonly Published[],
  now: number,
): DashboardState {
  const seen = new Set(s.feed.map((f) => `${f.kind}|${f.time}`));
  let out: DashboardState = { ...s, feed: [] };
  for (const p of recent) {
    if (p.kind !== "topology" && !seen.has(`${p.kind}|${p.time}`))
      out = applyPublished(out, p, now);
  }
  const merged = [...s.feed, ...out.feed].sort((a, b) => b.time.localeCompare(a.time));
  return {
    ...s,
    operations: { ...out.operations, ...s.operations },
    feed: merged.slice(0, FEED_MAX),
  };
}

export function applyStream(s: DashboardState, stream: Connection): DashboardState {
  return { ...s, stream };
}
