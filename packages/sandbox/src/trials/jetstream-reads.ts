// Two JetStream reads the trials make through the JetStream API subjects directly (the
// sandbox does not depend on the JetStream client): who holds a cluster's lease, and which
// nats-server leads a stream.
import { LEASE_BUCKET } from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";

export interface LeaseHolder {
  readonly holder: string;
  readonly epoch: number;
}

/** The lease record in KV `marina_leader/<cluster>`; undefined when absent or unreadable. */
export async function leaseHolder(
  nc: NatsConnection,
  cluster = "main",
): Promise<LeaseHolder | undefined> {
  try {
    const m = await nc.request(
      `$JS.API.STREAM.MSG.GET.KV_${LEASE_BUCKET}`,
      JSON.stringify({ last_by_subj: `$KV.${LEASE_BUCKET}.${cluster}` }),
      { timeout: 2_000 },
    );
    const data = (m.json() as { message?: { data?: string } }).message?.data;
    if (!data) return undefined;
    const v = JSON.parse(Buffer.from(data, "base64").toString("utf8")) as Partial<LeaseHolder>;
    return typeof v.holder === "string" && typeof v.epoch === "number"
      ? { holder: v.holder, epoch: v.epoch }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The name of the nats-server leading `stream` (e.g. `nats2`); undefined if unknown. */
export async function streamLeader(
  nc: NatsConnection,
  stream: string,
): Promise<string | undefined> {
  try {
    const m = await nc.request(`$JS.API.STREAM.INFO.${stream}`, "", { timeout: 2_000 });
    return (m.json() as { cluster?: { leader?: string } }).cluster?.leader;
  } catch {
    return undefined;
  }
}
