import { LabError, LabErrorCode } from "./errors.js";

/**
 * GTID list handling for the lab only. Sequence numbers are 64-bit unsigned, so they are
 * kept as BigInt; the lab does not depend on @marina/contracts for this on purpose.
 */
export interface GtidEntry {
  readonly domain: number;
  readonly serverId: number;
  readonly seq: bigint;
}

/** One entry per replication domain, as in `@@gtid_binlog_pos` ("0-1-5,1-2-9"). */
export type GtidPosition = ReadonlyMap<number, GtidEntry>;

const ENTRY = /^(\d+)-(\d+)-(\d+)$/;

export function parseGtidList(text: string): Map<number, GtidEntry> {
  const out = new Map<number, GtidEntry>();
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const m = ENTRY.exec(part);
    if (!m) throw new LabError(LabErrorCode.BadGtid, `not a GTID: ${JSON.stringify(part)}`);
    const domain = Number(m[1]);
    if (out.has(domain)) {
      throw new LabError(LabErrorCode.BadGtid, `domain ${domain} twice in ${JSON.stringify(text)}`);
    }
    out.set(domain, { domain, serverId: Number(m[2]), seq: BigInt(m[3] as string) });
  }
  return out;
}

function asPosition(p: string | GtidPosition): GtidPosition {
  return typeof p === "string" ? parseGtidList(p) : p;
}

export function formatGtidList(pos: GtidPosition): string {
  return [...pos.values()]
    .sort((a, b) => a.domain - b.domain)
    .map((e) => `${e.domain}-${e.serverId}-${e.seq}`)
    .join(",");
}

/**
 * True when `have` has reached `want` in every domain of `want` (per-domain sequence
 * compare; under gtid_strict_mode sequence numbers only grow within a domain).
 */
export function gtidContains(have: string | GtidPosition, want: string | GtidPosition): boolean {
  const h = asPosition(have);
  for (const w of asPosition(want).values()) {
    const e = h.get(w.domain);
    if (!e || e.seq < w.seq) return false;
  }
  return true;
}

/** Per-domain maximum of several positions (the union of what several sources wrote). */
export function mergeGtidLists(...lists: (string | GtidPosition)[]): Map<number, GtidEntry> {
  const out = new Map<number, GtidEntry>();
  for (const list of lists) {
    for (const e of asPosition(list).values()) {
      const cur = out.get(e.domain);
      if (!cur || cur.seq < e.seq) out.set(e.domain, e);
    }
  }
  return out;
}
