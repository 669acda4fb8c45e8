import {
  atOrBeyond,
  type GtidList,
  GtidParseError,
  parseGtidList as parseList,
  positionOf,
} from "@marina/contracts";
import { LabError, LabErrorCode } from "./errors.js";

/**
 * GTID positions for the lab's waits and printing: one entry per replication domain, as in
 * `@@gtid_binlog_pos` ("0-1-5,1-2-9"). Parsing and comparison are the contracts' GTID
 * algebra; the lab only keys the entries by domain.
 */
export interface GtidEntry {
  readonly domain: number;
  readonly serverId: number;
  readonly seq: bigint;
}

export type GtidPosition = ReadonlyMap<number, GtidEntry>;

function toPosition(list: GtidList): Map<number, GtidEntry> {
  return new Map(list.map((g) => [g.domain, { domain: g.domain, serverId: g.server, seq: g.seq }]));
}

function toList(pos: GtidPosition): GtidList {
  return [...pos.values()].map((e) => ({ domain: e.domain, server: e.serverId, seq: e.seq }));
}

export function parseGtidList(text: string): Map<number, GtidEntry> {
  let list: GtidList;
  try {
    list = parseList(text);
  } catch (err) {
    const msg = err instanceof GtidParseError ? err.message : String(err);
    throw new LabError(LabErrorCode.BadGtid, `not a GTID list: ${msg}`);
  }
  const pos = toPosition(list);
  if (pos.size !== list.length) {
    throw new LabError(LabErrorCode.BadGtid, `a domain twice in ${JSON.stringify(text)}`);
  }
  return pos;
}

function asList(p: string | GtidPosition): GtidList {
  return typeof p === "string" ? toList(parseGtidList(p)) : toList(p);
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
  return atOrBeyond(asList(have), asList(want));
}

/** Per-domain maximum of several positions (the union of what several sources wrote). */
export function mergeGtidLists(...lists: (string | GtidPosition)[]): Map<number, GtidEntry> {
  return toPosition(positionOf(lists.flatMap(asList)));
}
