// Reading the operations' records of a cluster from MARINA_HISTORY: the last N (since a
// time) with one ordered consumer, or one record by its id with a direct read of its
// subject. A stream that does not exist yet (deciders older than the history) has none.
import {
  HISTORY_STREAM,
  HistoryMessage,
  type OperationRecord,
  parseOnSubject,
  subjects,
} from "@marina/contracts";
import { DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { CliError } from "./exit-codes.js";

const STREAM_NOT_FOUND = 10059;

const isMissingStream = (err: unknown) =>
  err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND;

function unreadable(err: unknown): CliError {
  return new CliError(
    "NATS_UNREACHABLE",
    `cannot read the stream ${HISTORY_STREAM}: ${(err as Error).message}`,
    { cause: err },
  );
}

export interface HistoryQuery {
  readonly cluster: string;
  /** The most recent ones: at most this many. */
  readonly limit: number;
  /** Only records stored since then (an operation's record is stored when it ends). */
  readonly since?: Date;
  /** A stored message that is not a valid record for its subject: skipped, and said so. */
  readonly onInvalid?: (subject: string, message: string) => void;
}

/** The cluster's last `limit` records, oldest first (in the order they were stored). */
export async function readHistory(nc: NatsConnection, q: HistoryQuery): Promise<OperationRecord[]> {
  const js = jetstream(nc);
  let consumer: Awaited<ReturnType<typeof js.consumers.get>>;
  try {
    consumer = await js.consumers.get(HISTORY_STREAM, {
      filter_subjects: subjects.historyAll(q.cluster),
      ...(q.since
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: q.since.toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
    });
  } catch (err) {
    if (isMissingStream(err)) return [];
    throw unreadable(err);
  }
  const kept: OperationRecord[] = [];
  try {
    if ((await consumer.info(true)).num_pending === 0) return [];
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const m of messages) {
        const r = parseOnSubject(HistoryMessage, m.subject, m.data);
        if (!r.ok) q.onInvalid?.(m.subject, r.error.message);
        else {
          kept.push(r.value.payload);
          if (kept.length > q.limit) kept.shift();
        }
        if (m.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
  } catch (err) {
    throw err instanceof CliError ? err : unreadable(err);
  } finally {
    await consumer.delete().catch(() => {});
  }
  return kept;
}

/** One operation's record by its id, or null when there is none (or no history stream). */
export async function readHistoryRecord(
  nc: NatsConnection,
  cluster: string,
  id: string,
): Promise<OperationRecord | null> {
  const subject = subjects.history(cluster, id);
  try {
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage(HISTORY_STREAM, { last_by_subj: subject });
    if (m === null) return null;
    const r = parseOnSubject(HistoryMessage, m.subject, m.data);
    if (!r.ok) {
      throw new CliError("BAD_REPLY", `the record on ${subject} is not valid: ${r.error.message}`);
    }
    return r.value.payload;
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (isMissingStream(err)) return null;
    throw unreadable(err);
  }
}
