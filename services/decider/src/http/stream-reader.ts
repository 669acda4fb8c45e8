// PublishedReader over JetStream: the last topology and one history record by a direct
// read of their subject; recent messages and history lists with ordered consumers (one
// per subject filter: NATS 2.9 has no multi-filter consumers), deleted when done; the
// Server-Sent Events stream with consumers that deliver only what comes from now on.
// (The CLI reads the same streams the same way: packages/cli/src/events-stream.ts.)
import {
  ClusterEventMessage,
  EVENTS_STREAM,
  HISTORY_STREAM,
  HistoryMessage,
  OperationMessage,
  type OperationRecord,
  parseOnSubject,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import {
  type Consumer,
  DeliverPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Published, PublishedKind, PublishedReader } from "./deps.js";

const STREAM_NOT_FOUND = 10059;
const isMissingStream = (err: unknown) =>
  err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND;

/** A stored message of MARINA_EVENTS as what the API shows; null when not valid. */
export function parsePublished(subject: string, data: Uint8Array): Published | null {
  switch (subject.split(".")[3]) {
    case "events": {
      const r = parseOnSubject(ClusterEventMessage, subject, data);
      return r.ok ? { kind: "event", time: r.value.time, payload: r.value.payload } : null;
    }
    case "topology": {
      const r = parseOnSubject(TopologyMessage, subject, data);
      return r.ok ? { kind: "topology", time: r.value.time, payload: r.value.payload } : null;
    }
    case "op": {
      const r = parseOnSubject(OperationMessage, subject, data);
      return r.ok ? { kind: "operation", time: r.value.time, payload: r.value.payload } : null;
    }
    default:
      return null;
  }
}

function filterOf(cluster: string, kind: PublishedKind): string {
  switch (kind) {
    case "event":
      return subjects.events(cluster);
    case "topology":
      return subjects.topology(cluster);
    case "operation":
      return subjects.opAll(cluster);
  }
}

const ALL_KINDS: readonly PublishedKind[] = ["event", "topology", "operation"];

/** Every stored message of `filter` since `since`, with its stream sequence. */
async function readStored(
  nc: NatsConnection,
  stream: string,
  filter: string,
  since: Date | undefined,
  keep: (seq: number, subject: string, data: Uint8Array) => void,
): Promise<void> {
  const js = jetstream(nc);
  let consumer: Consumer;
  try {
    consumer = await js.consumers.get(stream, {
      filter_subjects: filter,
      ...(since
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
    });
  } catch (err) {
    if (isMissingStream(err)) return;
    throw err;
  }
  try {
    if ((await consumer.info(true)).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const m of messages) {
        keep(m.seq, m.subject, m.data);
        if (m.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
}

export function natsPublishedReader(nc: NatsConnection): PublishedReader {
  const lastOn = async (stream: string, subject: string) => {
    try {
      const jsm = await jetstreamManager(nc);
      return await jsm.streams.getMessage(stream, { last_by_subj: subject });
    } catch (err) {
      if (isMissingStream(err)) return null;
      throw err;
    }
  };
  return {
    async lastTopology(cluster) {
      const m = await lastOn(EVENTS_STREAM, subjects.topology(cluster));
      if (!m) return null;
      const r = parseOnSubject(TopologyMessage, m.subject, m.data);
      return r.ok ? r.value.payload : null;
    },
    async recent(cluster, q) {
      const kept: { seq: number; p: Published }[] = [];
      for (const kind of q.kinds.length > 0 ? q.kinds : ALL_KINDS) {
        await readStored(nc, EVENTS_STREAM, filterOf(cluster, kind), q.since, (seq, s, d) => {
          const p = parsePublished(s, d);
          if (p) kept.push({ seq, p });
        });
      }
      kept.sort((a, b) => a.seq - b.seq);
      return kept.slice(-q.limit).map((k) => k.p);
    },
    async history(cluster, q) {
      const kept: OperationRecord[] = [];
      await readStored(nc, HISTORY_STREAM, subjects.historyAll(cluster), q.since, (_, s, d) => {
        const r = parseOnSubject(HistoryMessage, s, d);
        if (r.ok) kept.push(r.value.payload);
      });
      return kept.slice(-q.limit);
    },
    async historyRecord(cluster, id) {
      const m = await lastOn(HISTORY_STREAM, subjects.history(cluster, id));
      if (!m) return null;
      const r = parseOnSubject(HistoryMessage, m.subject, m.data);
      return r.ok ? r.value.payload : null;
    },
    async follow(cluster, deliver, signal) {
      const js = jetstream(nc);
      const consumers: Consumer[] = [];
      try {
        for (const kind of ALL_KINDS) {
          consumers.push(
            await js.consumers.get(EVENTS_STREAM, {
              filter_subjects: filterOf(cluster, kind),
              deliver_policy: DeliverPolicy.New,
            }),
          );
        }
      } catch (err) {
        for (const c of consumers) void c.delete().catch(() => {});
        throw err;
      }
      for (const consumer of consumers) {
        const messages = await consumer.consume({ max_messages: 64 });
        const stop = () => {
          void messages.close();
          void consumer.delete().catch(() => {});
        };
        if (signal.aborted) stop();
        else signal.addEventListener("abort", stop, { once: true });
        void (async () => {
          for await (const m of messages) {
            const p = parsePublished(m.subject, m.data);
            if (p) deliver(p);
          }
        })().catch(() => {});
      }
    },
  };
}
