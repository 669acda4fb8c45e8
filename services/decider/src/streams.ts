// The events stream (name and subjects from @marina/contracts' STREAMS.events), with the
// replica count of `nats.replicas` (@marina/runtime's natsReplicas and replicasChange).
import { type NatsReplicas, STREAMS } from "@marina/contracts";
import {
  type ClusterInfo,
  jetStreamNotReady,
  type Logger,
  natsReplicas,
  replicasChange,
} from "@marina/runtime";
import { JetStreamApiError, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";

// JetStream API codes: stream not found; name in use (another decider created it first).
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

const apiCode = (err: unknown) => (err instanceof JetStreamApiError ? err.code : undefined);

export interface EventsStreamOptions {
  /** `nats.replicas`; default "auto". */
  readonly replicas?: NatsReplicas;
  /** The connection's server INFO (`nc.info`), for "auto". */
  readonly info?: ClusterInfo | undefined;
  /** Warned when the stream cannot be scaled (kept as it is). */
  readonly log?: Logger;
}

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
  const setting = o.replicas ?? "auto";
  const replicas = natsReplicas(setting, o.info);
  const cfg = {
    subjects: [...subjects],
    max_age: 7 * 24 * 3600 * 1e9, // nanoseconds
    max_msgs_per_subject: 10_000,
  };
  for (let attempt = 0; ; attempt++) {
    let have: StreamInfo;
    try {
      have = await jsm.streams.info(name);
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
      try {
        await jsm.streams.add({ name, ...cfg, num_replicas: replicas });
        return;
      } catch (addErr) {
        // Lost a creation race: read it back and update it.
        if (apiCode(addErr) !== STREAM_NAME_IN_USE || attempt > 0) throw addErr;
        continue;
      }
    }
    const change = replicasChange(setting, replicas, have.config.num_replicas);
    const same =
      have.config.max_age === cfg.max_age &&
      have.config.max_msgs_per_subject === cfg.max_msgs_per_subject &&
      JSON.stringify([...have.config.subjects].sort()) === JSON.stringify([...cfg.subjects].sort());
    // Nothing to change: no update (one right after a scale-up may go unanswered).
    if (same && change === undefined) return;
    if (change !== undefined) {
      try {
        await jsm.streams.update(name, { ...cfg, num_replicas: change });
        o.log?.info(
          { stream: name, from: have.config.num_replicas, to: change },
          "stream replicas changed",
        );
        return;
      } catch (err) {
        if (jetStreamNotReady(err)) throw err;
        o.log?.warn(
          {
            stream: name,
            have: have.config.num_replicas,
            want: change,
            err: (err as Error).message,
          },
          "cannot change the stream's replicas; keeping them",
        );
      }
    }
    await jsm.streams.update(name, cfg);
    return;
  }
}
