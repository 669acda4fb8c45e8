// GTID algebra for MariaDB's `domain-server-seq` lists.
//
// domain and server ids are 32-bit unsigned; sequence numbers are 64-bit unsigned and kept as
// bigint so nothing above 2^53 is rounded. Under gtid_strict_mode a domain's history is
// linear, so a server's history is described by its last GTID per domain (its position),
// and "B has transaction d-s-n" is decided from B's entry for the same (domain, server):
// a bare per-domain sequence comparison would call a diverged server (0-1-101 vs 0-2-105)
// "behind" instead of "diverged".
import { MarinaError } from "./errors.js";

export interface Gtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

export type GtidList = readonly Gtid[];

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;
const DIGITS = /^[0-9]+$/;

export class GtidParseError extends MarinaError {
  override readonly name = "GtidParseError";
  constructor(
    message: string,
    readonly input: string,
    readonly position: number,
  ) {
    super("GTID_PARSE", message);
  }
}

function parseOne(text: string, input: string, index: number): Gtid {
  const parts = text.split("-");
  if (parts.length !== 3) {
    throw new GtidParseError(
      `GTID #${index + 1} "${text}" must have three parts domain-server-seq`,
      input,
      index,
    );
  }
  const [d, s, n] = parts as [string, string, string];
  const names = ["domain", "server", "sequence"] as const;
  for (const [i, part] of [d, s, n].entries()) {
    if (!DIGITS.test(part)) {
      throw new GtidParseError(
        `GTID #${index + 1} "${text}": ${names[i]} "${part}" is not an unsigned integer`,
        input,
        index,
      );
    }
  }
  const domain = Number(d);
  const server = Number(s);
  const seq = BigInt(n);
  if (domain > U32_MAX) {
    throw new GtidParseError(`GTID #${index + 1} "${text}": domain exceeds 32 bits`, input, index);
  }
  if (server > U32_MAX) {
    throw new GtidParseError(`GTID #${index + 1} "${text}": server exceeds 32 bits`, input, index);
  }
  if (seq > U64_MAX) {
    throw new GtidParseError(
      `GTID #${index + 1} "${text}": sequence exceeds 64 bits`,
      input,
      index,
    );
  }
  return { domain, server, seq };
}

/** Parses `0-1-10,1-2-5` (whitespace and newlines around entries allowed; "" is empty). */
export function parseGtidList(input: string): GtidList {
  const trimmed = input.trim();
  if (trimmed === "") return [];
  return trimmed.split(",").map((entry, i) => {
    const text = entry.trim();
    if (text === "") throw new GtidParseError(`GTID #${i + 1} is empty`, input, i);
    return parseOne(text, input, i);
  });
}

export function isGtidList(input: string): boolean {
  try {
    parseGtidList(input);
    return true;
  } catch {
    return false;
  }
}

export function formatGtid(g: Gtid): string {
  return `${g.domain}-${g.server}-${g.seq}`;
}

/** Sorted by domain then server, like MariaDB prints them. */
export function formatGtidList(list: GtidList): string {
  return sortGtids(list).map(formatGtid).join(",");
}

function sortGtids(list: GtidList): Gtid[] {
  return [...list].sort((a, b) => a.domain - b.domain || a.server - b.server);
}

/** Keeps the highest sequence per (domain, server): a gtid_binlog_state-like set. */
export function normalize(list: GtidList): GtidList {
  const byKey = new Map<string, Gtid>();
  for (const g of list) {
    const key = `${g.domain}-${g.server}`;
    const have = byKey.get(key);
    if (!have || g.seq > have.seq) byKey.set(key, g);
  }
  return sortGtids([...byKey.values()]);
}

/** The last GTID of each domain (highest sequence): what gtid_current_pos would show. */
export function positionOf(list: GtidList): GtidList {
  const byDomain = new Map<number, Gtid>();
  for (const g of list) {
    const have = byDomain.get(g.domain);
    if (!have || g.seq > have.seq) byDomain.set(g.domain, g);
  }
  return sortGtids([...byDomain.values()]);
}

export function union(...lists: GtidList[]): GtidList {
  return normalize(lists.flat());
}

export function domainsOf(list: GtidList): number[] {
  return [...new Set(list.map((g) => g.domain))].sort((a, b) => a - b);
}

/** Highest sequence number in a domain, or -1n when the list has nothing in it. */
export function seqInDomain(list: GtidList, domain: number): bigint {
  let best = -1n;
  for (const g of list) if (g.domain === domain && g.seq > best) best = g.seq;
  return best;
}

/** -1, 0 or 1 comparing a and b by their last sequence number in one domain. */
export function compareInDomain(a: GtidList, b: GtidList, domain: number): -1 | 0 | 1 {
  const x = seqInDomain(a, domain);
  const y = seqInDomain(b, domain);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when `history` has `g`: its (domain, server) pair at or beyond g's sequence number. */
export function hasTransaction(history: GtidList, g: Gtid): boolean {
  return history.some((h) => h.domain === g.domain && h.server === g.server && h.seq >= g.seq);
}

/**
 * What `history` lacks of `a`: the last GTID of each of a's domains that history does not
 * contain. Empty when history has every transaction a has.
 */
export function missingFrom(history: GtidList, a: GtidList): GtidList {
  return positionOf(a).filter((g) => !hasTransaction(history, g));
}

/** True when `history` (B) has every transaction `a` has. */
export function contains(history: GtidList, a: GtidList): boolean {
  return missingFrom(history, a).length === 0;
}

export interface Ranked<T> {
  readonly item: T;
  readonly position: GtidList;
}

/**
 * The most advanced of several positions: one at least as far as every other in every
 * domain considered (all domains seen when `domains` is omitted). Ties keep input order.
 * Returns undefined when no single position dominates (e.g. a ahead in domain 1, b in 2).
 */
export function mostAdvanced<T>(
  candidates: readonly Ranked<T>[],
  domains?: readonly number[],
): Ranked<T> | undefined {
  const ds = domains ?? domainsOf(candidates.flatMap((c) => c.position));
  return candidates.find((c) =>
    candidates.every((o) => ds.every((d) => compareInDomain(c.position, o.position, d) >= 0)),
  );
}

/** True when a is at or beyond b in every domain b has (sequence comparison only). */
export function atOrBeyond(a: GtidList, b: GtidList): boolean {
  return domainsOf(b).every((d) => compareInDomain(a, b, d) >= 0);
}

/**
 * A gtid_slave_pos with some domains replaced: `current` without `domains`, plus `pos`
 * restricted to `domains` (a source added to a multi-source replica brings its own domains;
 * a source removed takes them away with an empty `pos`). One GTID per domain.
 */
export function replaceDomains(current: string, pos: string, domains: readonly number[]): string {
  const kept = positionOf(parseGtidList(current)).filter((g) => !domains.includes(g.domain));
  const added = positionOf(parseGtidList(pos)).filter((g) => domains.includes(g.domain));
  return formatGtidList(positionOf([...kept, ...added]));
}
