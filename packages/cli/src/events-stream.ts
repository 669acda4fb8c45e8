// Reading what the deciders published on a cluster's subjects from the JetStream stream
// that keeps it (MARINA_EVENTS): the stored messages first, then — when following — new
// ones as they come, with one ordered consumer (no message is missed between the two).
import {
  ClusterEventMessage,
  EVENTS_STREAM,
  OperationMessage,
  parseOnSubject,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import { type Consumer, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { CliError } from "./exit-codes.js";
import type { Published } from "./format/stream.js";

/**
 * Topology, events and operations of one cluster: all the stream keeps of it. One filter
 * per kind: a consumer's filter must lie within one of the stream's subjects (NATS 2.9 has
 * no multi-filter consumers), so `marina.v1.<cluster>.>` is not one.
 */
export function clusterFilters(cluster: string): string[] {
  return [subjects.topology(cluster), subjects.events(cluster), subjects.opAll(cluster)];
}

export interface ReadOptions {
  readonly cluster: string;
  /** Subject filters within the stream (default: everything of the cluster). */
  readonly filters?: readonly string[];
  /** Only messages stored since then (default: all the stream keeps). */
  readonly since?: Date;
  /** Keep reading new messages after the stored ones, until `signal` aborts. */
  readonly follow: boolean;
  readonly signal?: AbortSignal;
  /** Called once, after the last stored message (at once when there is none). */
  readonly onCaughtUp?: () => void;
  /** A message that is not valid for its subject: skipped, and said so. */
  readonly onInvalid?: (subject: string, message: string) => void;
}

/** Parses a stored or live message of the events stream into what the views show. */
export function parsePublished(
  subject: string,
  data: Uint8Array,
  fallback: Date,
): Published | string {
  const kind = subject.split(".")[3];
  const at = (time: string) => {
    const d = new Date(time);
    return Number.isNaN(d.getTime()) ? fallback : d;
  };
  switch (kind) {
    case "events": {
      const r = parseOnSubject(ClusterEventMessage, subject, data);
      return r.ok
        ? { kind: "event", at: at(r.value.time), event: r.value.payload }
        : r.error.message;
    }
    case "topology": {
      const r = parseOnSubject(TopologyMessage, subject, data);
      return r.ok
        ? { kind: "topology", at: at(r.value.time), topology: r.value.payload }
        : r.error.message;
    }
    case "op": {
      const r = parseOnSubject(OperationMessage, subject, data);
      return r.ok
        ? { kind: "operation", at: at(r.value.time), operation: r.value.payload }
        : r.error.message;
    }
    default:
      return `not a topology, event or operation subject`;
  }
}

/**
 * The stored messages of the filters in the order they were stored (one ordered consumer
 * per filter, merged by stream sequence), then — when following — new ones as they come.
 */
export async function readPublished(
  nc: NatsConnection,
  o: ReadOptions,
  onMessage: (p: Published) => void,
): Promise<void> {
  const js = jetstream(nc);
  const filters = o.filters ?? clusterFilters(o.cluster);
  const consumers: Consumer[] = [];
  try {
    for (const filter of filters) {
      consumers.push(
        await js.consumers.get(EVENTS_STREAM, {
          filter_subjects: filter,
          ...(o.since
            ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() }
            : { deliver_policy: DeliverPolicy.All }),
        }),
      );
    }
  } catch (err) {
    for (const c of consumers) void c.delete().catch(() => {});
    throw new CliError(
      "NATS_UNREACHABLE",
      `cannot read the stream ${EVENTS_STREAM}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // Stored messages wait here until every consumer has caught up, then go out in order.
  let stored: { seq: number; p: Published }[] | null = [];
  let behind = consumers.length;
  const deliver = (subject: string, data: Uint8Array, time: Date, seq: number) => {
    const p = parsePublished(subject, data, time);
    if (typeof p === "string") o.onInvalid?.(subject, p);
    else if (stored) stored.push({ seq, p });
    else onMessage(p);
  };
  const caughtUp = () => {
    behind -= 1;
    if (behind > 0 || stored === null) return;
    const ordered = stored.sort((a, b) => a.seq - b.seq);
    stored = null;
    for (const { p } of ordered) onMessage(p);
    o.onCaughtUp?.();
  };
  const read = async (consumer: Consumer) => {
    const pending = (await consumer.info(true)).num_pending;
    if (pending === 0) {
      caughtUp();
      if (!o.follow) return;
    }
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => void messages.close();
    if (o.signal?.aborted) stop();
    o.signal?.addEventListener("abort", stop, { once: true });
    let done = pending === 0;
    try {
      for await (const m of messages) {
        deliver(m.subject, m.data, m.time, m.seq);
        if (!done && m.info.pending === 0) {
          done = true;
          caughtUp();
          if (!o.follow) break;
        }
      }
    } finally {
      o.signal?.removeEventListener("abort", stop);
      await messages.close();
    }
  };
  try {
    await Promise.all(consumers.map(read));
  } finally {
    for (const c of consumers) await c.delete().catch(() => {});
  }
}

/** The last message stored on `subject` (a direct read of the stream), or null. */
export async function lastPublished(
  nc: NatsConnection,
  subject: string,
): Promise<Published | null> {
  const jsm = await jetstreamManager(nc);
  const m = await jsm.streams
    .getMessage(EVENTS_STREAM, { last_by_subj: subject })
    .catch((err: unknown) => {
      throw new CliError(
        "NATS_UNREACHABLE",
        `cannot read ${subject} from ${EVENTS_STREAM}: ${(err as Error).message}`,
        { cause: err },
      );
    });
  if (m === null) return null;
  const p = parsePublished(m.subject, m.data, m.time);
  return typeof p === "string" ? null : p;
}

/** The last topology published for the cluster, or null. */
export function lastTopology(nc: NatsConnection, cluster: string): Promise<Published | null> {
  return lastPublished(nc, subjects.topology(cluster));
}
