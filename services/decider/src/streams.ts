// The events stream (name and subjects from @marina/contracts' STREAMS.events).
import { STREAMS } from "@marina/contracts";
import type { JetStreamManager } from "@nats-io/jetstream";

/** The stream that keeps topology, situations and operation events for late subscribers. */
export async function ensureEventsStream(jsm: JetStreamManager): Promise<void> {
  const { name, subjects } = STREAMS.events;
  const cfg = {
    name,
    subjects: [...subjects],
    max_age: 7 * 24 * 3600 * 1e9, // nanoseconds
    max_msgs_per_subject: 10_000,
  };
  try {
    await jsm.streams.info(name);
    await jsm.streams.update(name, cfg);
  } catch {
    await jsm.streams.add(cfg);
  }
}
