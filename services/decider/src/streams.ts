import type { JetStreamManager } from "@nats-io/jetstream";

export const EVENTS_STREAM = "MARINA_EVENTS";

/** The stream that keeps topology, situations and operation events for late subscribers. */
export async function ensureEventsStream(jsm: JetStreamManager): Promise<void> {
  const subjects = ["marina.v1.*.topology", "marina.v1.*.events", "marina.v1.*.op.*"];
  const cfg = {
    name: EVENTS_STREAM,
    subjects,
    max_age: 7 * 24 * 3600 * 1e9, // nanoseconds
    max_msgs_per_subject: 10_000,
  };
  try {
    await jsm.streams.info(EVENTS_STREAM);
    await jsm.streams.update(EVENTS_STREAM, cfg);
  } catch {
    await jsm.streams.add(cfg);
  }
}
