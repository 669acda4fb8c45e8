// The JetStream stream that keeps recent health and observed-topology messages, so a late
// subscriber can read history. The monitor publishes with core NATS (no ack round trip);
// the stream captures those publishes all the same. Several monitors may start at once, so
// creation is idempotent: add, or update when the limits differ. Its replica count is
// `nats.replicas` (@marina/runtime's natsReplicas; an existing stream is scaled by the rule
// of replicasChange).
import { HEALTH_STREAM, type NatsReplicas, STREAMS } from "@marina/contracts";
import { natsReplicas, replicasChange } from "@marina/runtime";
import {
  DiscardPolicy,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export { HEALTH_STREAM };
/** Only the monitor's subjects: other services keep their own streams. */
export const HEALTH_STREAM_SUBJECTS = STREAMS.health.subjects;

export interface HealthStreamOptions {
  readonly name: string;
  readonly maxAgeMs: number;
  readonly maxMsgsPerSubject: number;
}

export const defaultHealthStream: HealthStreamOptions = {
  name: HEALTH_STREAM,
  maxAgeMs: 60 * 60 * 1000,
  maxMsgsPerSubject: 1000,
};

const nanos = (ms: number) => ms * 1_000_000;

export function streamConfigOf(o: HealthStreamOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: o.name,
    subjects: [...HEALTH_STREAM_SUBJECTS],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(o.maxAgeMs),
    max_msgs_per_subject: o.maxMsgsPerSubject,
    description: "Marina monitor: health samples and observed topology",
  };
}

function isNotFound(err: unknown): boolean {
  // 10059: stream not found.
  return err instanceof JetStreamApiError && err.code === 10059;
}

function isNameInUse(err: unknown): boolean {
  // 10058: stream name already in use (another monitor created it first).
  return err instanceof JetStreamApiError && err.code === 10058;
}

export type EnsureResult = "created" | "updated" | "unchanged";

export async function ensureHealthStream(
  nc: NatsConnection,
  o: HealthStreamOptions = defaultHealthStream,
  replicas: NatsReplicas = "auto",
): Promise<EnsureResult> {
  const jsm = await jetstreamManager(nc);
  const want = { ...streamConfigOf(o), num_replicas: natsReplicas(replicas, nc.info) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const info = await jsm.streams.info(o.name);
      const have = info.config;
      const scale = replicasChange(replicas, want.num_replicas, have.num_replicas);
      const same =
        scale === undefined &&
        have.max_age === want.max_age &&
        have.max_msgs_per_subject === want.max_msgs_per_subject &&
        JSON.stringify([...have.subjects].sort()) === JSON.stringify([...want.subjects!].sort());
      if (same) return "unchanged";
      await jsm.streams.update(o.name, {
        subjects: want.subjects!,
        max_age: want.max_age!,
        max_msgs_per_subject: want.max_msgs_per_subject!,
        ...(scale !== undefined ? { num_replicas: scale } : {}),
      });
      return "updated";
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await jsm.streams.add(want);
      return "created";
    } catch (err) {
      if (!isNameInUse(err)) throw err;
      // Lost a creation race: read it back and compare on the next round.
    }
  }
  return "unchanged";
}
