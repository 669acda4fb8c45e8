// The leader lease as deciders write it: JetStream KV bucket `marina_leader` (its TTL is the
// lease TTL), key `<cluster>`, value `{ "version", "holder", "epoch", "renewedAt" }`.
// Deciders write it; executors and agents read it to fence requests. One format, defined here.
//
// Format versions (docs/operations.md, "Rolling upgrades"): 1 is the record without
// `version` (written before formats were versioned), 2 adds `version`. Every reader accepts
// every version, newer ones included: `holder`, `epoch` and `renewedAt` keep their meaning
// and type in every version (a format that needs to change them must use another key), so
// executors and agents fence the same whichever decider release wrote the lease. A decider
// never edits another's lease, it replaces a lapsed or released one with its own record.
import { Epoch, Iso, LEASE_BUCKET } from "@marina/contracts";
import { z } from "zod";

// The bucket's name is a contract (deciders create it, executors and agents read it);
// re-exported here for the callers that know it from this package.
export { LEASE_BUCKET };

/** The lease format this release writes. */
export const LEASE_FORMAT = 2;

/**
 * What a decider writes when it creates the key, before it has drawn its epoch: not a lease
 * yet (nobody may act on it), and not a malformed value either.
 */
export const LEASE_PLACEHOLDER = "{}";

export const LeaseRecord = z.looseObject({
  /** Format version; absent in format 1. */
  version: z.number().int().min(1).optional(),
  holder: z.string().min(1).max(256),
  epoch: Epoch,
  /** Wall-clock time of the holder's last renewal; with the bucket TTL, when it expires. */
  renewedAt: Iso,
  /**
   * The cluster's automation is paused (`cmd.pause`): agents then never self-fence its
   * servers. Optional in every format (readers that predate it ignore it: loose object).
   */
  paused: z.boolean().optional(),
});
export type LeaseRecord = z.infer<typeof LeaseRecord>;

/** What a lease says, whatever its format: all a decider fills in and a fence reads. */
export type LeaseFields = Pick<LeaseRecord, "holder" | "epoch" | "renewedAt" | "paused">;

const dec = new TextDecoder();
const enc = new TextEncoder();

/** The format of a lease record (absent `version`: 1). */
export function leaseFormatOf(r: LeaseRecord): number {
  return r.version ?? 1;
}

/**
 * A lease record of an older format as the current format writes it (pure); a record of
 * the current or a newer format is returned as it is. 1 → 2: `version` added.
 */
export function migrateLease(r: LeaseRecord): LeaseRecord {
  return leaseFormatOf(r) >= LEASE_FORMAT ? r : { ...r, version: LEASE_FORMAT };
}

/** Decodes a lease value of any format; undefined when it is not a lease record. */
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

/**
 * Encodes a lease in `format` (default LEASE_FORMAT; 1 writes no `version`, as releases
 * before versioned formats did: tests of mixed releases).
 */
export function encodeLeaseRecord(r: LeaseFields, format: number = LEASE_FORMAT): Uint8Array {
  const fields = {
    holder: r.holder,
    epoch: r.epoch,
    renewedAt: r.renewedAt,
    ...(r.paused ? { paused: true } : {}),
  };
  return enc.encode(JSON.stringify(format >= 2 ? { version: format, ...fields } : fields));
}
