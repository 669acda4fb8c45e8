// The decider's streams (names and subjects from @marina/contracts' STREAMS), ensured with
// the replica count of `nats.replicas` by @marina/runtime's ensureStream: the events stream,
// and the history stream with the retention of the config's `history`.
import { type MarinaConfig, type NatsReplicas, STREAMS } from "@marina/contracts";
import { type ClusterInfo, ensureStream, type Logger } from "@marina/runtime";
import type { JetStreamManager } from "@nats-io/jetstream";

export interface EventsStreamOptions {
  /** `nats.replicas`; default "auto". */
  readonly replicas?: NatsReplicas;
  /** The connection's server INFO (`nc.info`), for "auto". */
  readonly info?: ClusterInfo | undefined;
  /** Warned when the stream cannot be scaled (kept as it is). */
  readonly log?: Logger;
}

const DAY_NS = 24 * 3600 * 1e9;

/**
 * The stream that keeps topology, situations and operation events for late subscribers:
 * created, or updated to these limits when they differ — and scaled when the replica rule
 * says so; a cluster that refuses the count (too few servers up) leaves it as it was.
 */
export async function ensureEventsStream(
  jsm: JetStreamManager,
  o: EventsStreamOptions = {},
): Promise<void> {
  const { name, subjects } = STREAMS.events;
  await ensureStream(
    jsm,
    {
      name,
      subjects: [...subjects],
      max_age: 7 * DAY_NS, // nanoseconds
      max_msgs_per_subject: 10_000,
    },
    { replicas: o.replicas ?? "auto", info: o.info, log: o.log },
  );
}

/**
 * The operations' records (`marina.v1.<cluster>.history.<id>`): one per subject (a record
 * stored again replaces itself), dropped past `history.maxAgeDays` or, oldest first, past
 * `history.maxRecords` — limits set again at every start, so a config change applies.
 */
export async function ensureHistoryStream(
  jsm: JetStreamManager,
  history: MarinaConfig["history"],
  o: EventsStreamOptions = {},
): Promise<void> {
  const { name, subjects } = STREAMS.history;
  await ensureStream(
    jsm,
    {
      name,
      subjects: [...subjects],
      max_age: history.maxAgeDays * DAY_NS,
      max_msgs: history.maxRecords,
      max_msgs_per_subject: 1,
    },
    { replicas: o.replicas ?? "auto", info: o.info, log: o.log },
  );
}
