// The decider's JetStream resources (events stream, lease and state buckets) are ensured at
// start. A JetStream that does not answer yet — just started, busy, a cluster electing its
// meta leader — is waited for with backoff, as the first NATS connection is; any other
// error (a stream configured differently, permissions) ends the start with that error.
// Buckets get the replica count of `nats.replicas` (@marina/runtime's natsReplicas); one
// that exists with another count is scaled (nats-server 2.9 scales a stream in place).
import type { NatsReplicas } from "@marina/contracts";
import { backoffDelay, type Logger, natsReplicas, replicasChange, sleep } from "@marina/runtime";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm, type KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

const RETRY = { backoffMinMs: 250, backoffMaxMs: 5_000 };

/** Timeouts, no responders, "JetStream not (yet) available": worth waiting for. */
export function jetStreamNotReady(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; isNoResponders?: unknown };
  if (e?.name === "TimeoutError") return true;
  if (typeof e?.isNoResponders === "function" && (e.isNoResponders as () => boolean)()) {
    return true;
  }
  if (e?.code === 503 || e?.code === "503") return true;
  return (
    typeof e?.message === "string" &&
    /timeout|no responders|jetstream (not enabled|temporarily unavailable)/i.test(e.message)
  );
}

/** Runs `setup` until it succeeds, waiting with backoff while JetStream is not ready. */
export async function untilJetStreamReady<T>(
  what: string,
  setup: () => Promise<T>,
  log: Logger,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setup();
    } catch (err) {
      if (!jetStreamNotReady(err) || signal?.aborted) throw err;
      const waitMs = backoffDelay(RETRY, attempt);
      log.warn(
        { what, attempt, waitMs, err: (err as Error).message },
        "JetStream not ready; retrying",
      );
      await sleep(waitMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}

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
  /** Time each request of the returned bucket may take (nats.js default 5 s). */
  timeoutMs?: number,
): Promise<KV> {
  const replicas = natsReplicas(setting, nc.info);
  const js = jetstream(nc, timeoutMs !== undefined ? { timeout: timeoutMs } : {});
  const kv = await new Kvm(js).create(name, { ...opts, replicas });
  const status = await kv.status();
  const change = replicasChange(setting, replicas, status.replicas);
  if (change === undefined) return kv;
  const stream = status.streamInfo.config.name;
  try {
    await (await jetstreamManager(nc)).streams.update(stream, { num_replicas: change });
    log.info({ bucket: name, from: status.replicas, to: change }, "bucket replicas changed");
  } catch (err) {
    if (jetStreamNotReady(err)) throw err;
    log.warn(
      { bucket: name, have: status.replicas, want: change, err: (err as Error).message },
      "cannot change the bucket's replicas; keeping them",
    );
  }
  return kv;
}
