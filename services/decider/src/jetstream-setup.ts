// The decider's JetStream resources (events stream, lease and state buckets) are ensured at
// start. A JetStream that does not answer yet — just started, busy, a cluster electing its
// meta leader — is waited for with backoff (@marina/runtime's untilJetStreamReady); any
// other error (a stream configured differently, permissions) ends the start with that error.
// Buckets get the replica count of `nats.replicas` (@marina/runtime's natsReplicas); one
// that exists with another count is scaled (nats-server 2.9 scales a stream in place).
import type { NatsReplicas } from "@marina/contracts";
import { settledForReads } from "@marina/lease-fence";
import { type Logger, natsReplicas, replicasChange, scaleStream } from "@marina/runtime";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm, type KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Creates (or binds) KV bucket `name` with the replica count of `setting`. A bucket that
 * exists with another count is scaled when the rule says so (replicasChange); if the
 * cluster refuses (too few servers up), it is kept as it is, with a warning.
 */
export async function ensureBucket(
  nc: NatsConnection,
  name: string,
  opts: Partial<KvOptions>,
  setting: NatsReplicas,
  log: Logger,
  /**
   * Time each request of the returned bucket may take (nats.js default 5 s). Creating and
   * scaling use the default: under load they take longer, and retrying them early only
   * adds to the JetStream API's queue.
   */
  timeoutMs?: number,
): Promise<KV> {
  const replicas = natsReplicas(setting, nc.info);
  const kv = await new Kvm(jetstream(nc)).create(name, { ...opts, replicas });
  const status = await kv.status();
  // Another decider may be creating this bucket right now: no message get until it has
  // its store (nats-server 2.9.10 crashes otherwise; @marina/lease-fence young-stream.ts).
  await settledForReads(status.streamInfo.state.last_seq);
  const change = replicasChange(setting, replicas, status.replicas);
  if (change !== undefined) {
    const jsm = await jetstreamManager(nc);
    const stream = status.streamInfo.config.name;
    await scaleStream(jsm, stream, status.replicas, change, log);
  }
  // Bound without a request; reads go to the stream's leader (no "direct get", which any
  // replica may serve — a frozen or cut-off one included).
  return timeoutMs === undefined ? kv : new Kvm(jetstream(nc, { timeout: timeoutMs })).open(name);
}
