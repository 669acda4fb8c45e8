// The leader lease as deciders write it: JetStream KV bucket `marina_leader` (its TTL is the
// lease TTL), key `<cluster>`, value `{ "holder", "epoch", "renewedAt" }`. Deciders write
// it; executors and agents read it to fence requests. One format, defined here.
import { Epoch, Iso, LEASE_BUCKET } from "@marina/contracts";
import { z } from "zod";

// The bucket's name is a contract (deciders create it, executors and agents read it);
// re-exported here for the callers that know it from this package.
export { LEASE_BUCKET };

/**
 * What a decider writes when it creates the key, before it has drawn its epoch: not a lease
 * yet (nobody may act on it), and not a malformed value either.
 */
export const LEASE_PLACEHOLDER = "{}";

export const LeaseRecord = z.looseObject({
  holder: z.string().min(1).max(256),
  epoch: Epoch,
  /** Wall-clock time of the holder's last renewal; with the bucket TTL, when it expires. */
  renewedAt: Iso,
});
export type LeaseRecord = z.infer<typeof LeaseRecord>;

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Decodes a lease value; undefined when it is not a lease record. */
export function parseLeaseRecord(value: Uint8Array | string): LeaseRecord | undefined {
  const text = typeof value === "string" ? value : dec.decode(value);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = LeaseRecord.safeParse(raw);
  return r.success ? r.data : undefined;
}

export function encodeLeaseRecord(r: LeaseRecord): Uint8Array {
  return enc.encode(JSON.stringify(r));
}
