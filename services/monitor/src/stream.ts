// The JetStream stream that keeps recent health and observed-topology messages, so a late
// subscriber can read history. The monitor publishes with core NATS (no ack round trip);
// the stream captures those publishes all the same. Several monitors may start at once, so
// creation is idempotent: add, or update when the limits differ. Its replica count is
// `nats.replicas` (@marina/runtime's ensureStream).
import { HEALTH_STREAM, type NatsReplicas, STREAMS } from "@marina/contracts";
import { type EnsureResult, ensureStream, type Logger, type StreamSpec } from "@marina/runtime";
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export type { EnsureResult };
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

export function streamConfigOf(o: HealthStreamOptions): StreamSpec {
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

/**
 * Creates the stream, or brings an existing one to these limits and replica count
 * (@marina/runtime's ensureStream; a count the cluster refuses is warned about and kept).
 */
export async function ensureHealthStream(
  nc: NatsConnection,
  o: HealthStreamOptions = defaultHealthStream,
  replicas: NatsReplicas = "auto",
  log?: Logger,
): Promise<EnsureResult> {
  return ensureStream(await jetstreamManager(nc), streamConfigOf(o), {
    replicas,
    info: nc.info,
    log,
  });
}
