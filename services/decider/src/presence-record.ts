// A decider's presence record in KV `marina_deciders` (key = presenceKey(id)) and its formats:
// 1: `{id, incarnation, clusters, leads, renewedAt}` (before formats were versioned);
// 2: adds `version` and `formats`, the newest format of each record the decider reads
//    (formats.ts): the leaders write the state in a format every live decider reads.
// Readers accept newer formats, which may only add fields, and read the fields they know. A
// record they cannot read is ignored: that peer counts as absent, which can only delay a
// handover or move a cluster (the lease still decides who leads).
import { z } from "zod";
import { FORMATS, type Formats, OLDEST_FORMATS } from "./formats.js";

const format = z.number().int().min(1);

export const PresenceRecord = z.looseObject({
  /** Absent in format 1. */
  version: format.optional(),
  id: z.string().min(1).max(128),
  /** Differs at every start, so a restart is told from a decider that kept running. */
  incarnation: z.string().min(1).max(128),
  clusters: z.array(z.string().max(64)).max(100_000),
  leads: z.array(z.string().max(64)).max(100_000),
  renewedAt: z.string().max(64),
  /** Absent in format 1 (whose deciders read format 1 of everything). */
  formats: z.looseObject({ state: format, lease: format, presence: format }).optional(),
});
export type PresenceRecord = z.infer<typeof PresenceRecord>;

/** A presence record as the current format has it, whatever format it was read in. */
export interface DeciderPresence {
  version: number;
  id: string;
  incarnation: string;
  clusters: string[];
  leads: string[];
  renewedAt: string;
  formats: Formats;
}

/**
 * A record of an older format as the current format writes it (pure); a newer one keeps its
 * version. 1 → 2: `version`, and `formats` all 1 (what a release before formats reads).
 */
export function migratePresence(r: PresenceRecord): DeciderPresence {
  const { formats, version } = r;
  return {
    version: Math.max(version ?? 1, FORMATS.presence),
    id: r.id,
    incarnation: r.incarnation,
    clusters: r.clusters,
    leads: r.leads,
    renewedAt: r.renewedAt,
    formats: formats
      ? { state: formats.state, lease: formats.lease, presence: formats.presence }
      : OLDEST_FORMATS,
  };
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Decodes a presence value of any format; undefined when it is not a presence record. */
export function parsePresence(value: Uint8Array): DeciderPresence | undefined {
  try {
    const r = PresenceRecord.safeParse(JSON.parse(dec.decode(value)));
    return r.success ? migratePresence(r.data) : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes a record in `format` (1: without `version` and `formats`, as before formats). */
export function encodePresence(r: DeciderPresence, format: number = FORMATS.presence): Uint8Array {
  const { version: _version, formats, ...fields } = r;
  return enc.encode(JSON.stringify(format >= 2 ? { version: format, ...fields, formats } : fields));
}
