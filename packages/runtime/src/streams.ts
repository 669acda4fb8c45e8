// One way to ensure a Marina JetStream stream (the monitor's health stream, the decider's
// events stream, and the streams under the KV buckets when they are scaled): created with
// its limits and the replica count of `nats.replicas`, or updated when its limits differ,
// and scaled by the rule of replicasChange. Several services may start at once, so a lost
// creation race is read back. A count the cluster refuses (too few servers up) leaves the
// stream as it is, with a warning.
import type { NatsReplicas } from "@marina/contracts";
import { JetStreamApiError, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { jetStreamNotReady } from "./jetstream-ready.js";
import type { Logger } from "./logger.js";
import { type ClusterInfo, natsReplicas, replicasChange } from "./replicas.js";

// JetStream API codes: stream not found; name in use (another service created it first).
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

const apiCode = (err: unknown) => (err instanceof JetStreamApiError ? err.code : undefined);

/**
 * The limits Marina keeps in step on an existing stream (and `max_msgs` when given); the
 * rest is set at creation.
 */
export type StreamSpec = Partial<StreamConfig> & {
  name: string;
  subjects: string[];
  max_age: number;
  max_msgs_per_subject: number;
};

export type EnsureResult = "created" | "updated" | "unchanged";

export interface EnsureStreamOptions {
  /** `nats.replicas`. */
  readonly replicas: NatsReplicas;
  /** The connection's server INFO (`nc.info`), for "auto". */
  readonly info: ClusterInfo | undefined;
  /** Told when a stream is scaled, warned when it cannot be. */
  readonly log?: Logger | undefined;
}

export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  o: EnsureStreamOptions,
): Promise<EnsureResult> {
  const want = natsReplicas(o.replicas, o.info);
  const limits = {
    subjects: spec.subjects,
    max_age: spec.max_age,
    max_msgs_per_subject: spec.max_msgs_per_subject,
    // A stream limited by count too (the history) keeps that in step; others leave it be.
    ...(spec.max_msgs !== undefined ? { max_msgs: spec.max_msgs } : {}),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let have: StreamConfig;
    try {
      have = (await jsm.streams.info(spec.name)).config;
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
      try {
        await jsm.streams.add({ ...spec, num_replicas: want });
        return "created";
      } catch (addErr) {
        // Lost a creation race: read it back and compare on the next round.
        if (apiCode(addErr) !== STREAM_NAME_IN_USE) throw addErr;
        continue;
      }
    }
    const change = replicasChange(o.replicas, want, have.num_replicas);
    const same =
      have.max_age === limits.max_age &&
      have.max_msgs_per_subject === limits.max_msgs_per_subject &&
      (limits.max_msgs === undefined || have.max_msgs === limits.max_msgs) &&
      JSON.stringify([...have.subjects].sort()) === JSON.stringify([...limits.subjects].sort());
    // Nothing to change: no update (one right after a scale-up may go unanswered).
    if (same && change === undefined) return "unchanged";
    const scaled =
      change !== undefined &&
      (await scaleStream(jsm, spec.name, have.num_replicas, change, o.log, limits));
    if (scaled) {
      return "updated";
    }
    await jsm.streams.update(spec.name, limits);
    return "updated";
  }
  return "unchanged";
}

/**
 * Scales stream `name` from `from` to `to` replicas (setting `also` with it): true when
 * done; false when the cluster refused the count (warned: the stream keeps its replicas).
 * A JetStream that is not ready is thrown, to be waited for.
 */
export async function scaleStream(
  jsm: JetStreamManager,
  name: string,
  from: number,
  to: number,
  log: Logger | undefined,
  also: Partial<StreamConfig> = {},
): Promise<boolean> {
  try {
    await jsm.streams.update(name, { ...also, num_replicas: to });
    log?.info({ stream: name, from, to }, "stream replicas changed");
    return true;
  } catch (err) {
    if (jetStreamNotReady(err)) throw err;
    log?.warn(
      { stream: name, have: from, want: to, err: (err as Error).message },
      "cannot change the stream's replicas; keeping them",
    );
    return false;
  }
}
