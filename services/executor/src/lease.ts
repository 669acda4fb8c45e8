// The leader lease as the decider writes it: JetStream KV bucket `marina_leader`, key
// `<cluster>`, value JSON `{ "epoch": <int >= 0>, "holder": "<id>", ... }`. The executor
// only reads `epoch`; other fields are ignored. A missing bucket, a missing key, or a
// deleted/purged key all mean "no lease known".
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import type { Logger } from "./logger.js";

export const LEASE_BUCKET = "marina_leader";

/** Where the fence learns the current leader's epoch for a cluster. */
export interface LeaseSource {
  /** The current lease epoch, undefined when there is no lease; throws when it cannot tell. */
  readEpoch(cluster: string): Promise<number | undefined>;
}

const LeaseValue = z.looseObject({ epoch: z.number().int().min(0) });

/** Decodes a lease value; undefined when it is not a lease (logged by the caller). */
export function parseLeaseEpoch(value: Uint8Array | string): number | undefined {
  const text = typeof value === "string" ? value : new TextDecoder().decode(value);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = LeaseValue.safeParse(raw);
  return r.success ? r.data.epoch : undefined;
}

// JetStream API code for "stream (bucket) not found".
const STREAM_NOT_FOUND = 10059;

function isAbsent(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (e.code === STREAM_NOT_FOUND || e.name === "StreamNotFoundError") return true;
  // No JetStream on the server: no decider can hold a lease there either.
  if (e.name === "JetStreamNotEnabled") return true;
  return (
    typeof e.message === "string" &&
    /stream not found|jetstream not enabled|no responders/i.test(e.message)
  );
}

/** Reads the lease from JetStream KV; the bucket is bound lazily, without creating it. */
export function kvLeaseSource(
  nc: NatsConnection,
  log: Logger,
  opts: { timeoutMs?: number } = {},
): LeaseSource {
  let bucket: Promise<KV> | undefined;
  const open = () => {
    bucket ??= new Kvm(jetstream(nc, { timeout: opts.timeoutMs ?? 1000 }))
      .open(LEASE_BUCKET)
      .catch((err: unknown) => {
        bucket = undefined;
        throw err;
      });
    return bucket;
  };
  return {
    async readEpoch(cluster) {
      let entry: Awaited<ReturnType<KV["get"]>>;
      try {
        entry = await (await open()).get(cluster);
      } catch (err) {
        if (isAbsent(err)) return undefined;
        throw err;
      }
      if (entry === null || entry.operation !== "PUT") return undefined;
      const epoch = parseLeaseEpoch(entry.value);
      if (epoch === undefined) {
        log.error(
          { cluster, bucket: LEASE_BUCKET },
          "leader lease value is not {epoch:int}; ignored",
        );
      }
      return epoch;
    },
  };
}
