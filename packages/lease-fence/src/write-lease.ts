// Writing a lease without a decider: for labs, tests and benches that drive executors or
// agents directly. Deciders hold their lease with compare-and-set (services/decider).
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeLeaseRecord, LEASE_BUCKET } from "./lease-record.js";

async function leaseBucket(nc: NatsConnection): Promise<KV> {
  const kvm = new Kvm(jetstream(nc));
  const kv = await kvm.open(LEASE_BUCKET);
  try {
    await kv.status(); // open() binds without checking that the bucket exists
    return kv;
  } catch {
    // No decider made it: without a TTL, a lease written here never expires.
    return kvm.create(LEASE_BUCKET, { history: 1 });
  }
}

/** Puts `cluster`'s lease at `epoch`, renewed now (in a bucket with a TTL it expires after it). */
export async function writeLease(
  nc: NatsConnection,
  cluster: string,
  epoch: number,
  holder = "lab",
): Promise<void> {
  const kv = await leaseBucket(nc);
  await kv.put(cluster, encodeLeaseRecord({ holder, epoch, renewedAt: new Date().toISOString() }));
}

/** Removes `cluster`'s lease (what a decider's release does). */
export async function deleteLease(nc: NatsConnection, cluster: string): Promise<void> {
  await (await leaseBucket(nc)).delete(cluster);
}
