import {
  domainsOf,
  formatGtidList,
  type GtidList,
  parseGtidList,
  positionOf,
} from "@marina/contracts/gtid";

// The target's gtid_slave_pos after provisioning: per source, the position its dump was
// taken at, restricted to the source's OWN domains, and the union of those. A source's dump
// position may carry domains it only received (another cluster's, replicated once): they
// must come from the stream that writes them, not from a copy of a copy.

export interface SourcePosition {
  cluster: string;
  /** The source's gtid_domain_id. */
  domainId: number;
  /** The position its dump was taken at. */
  gtid: string;
}

/**
 * The domains each source stands for: its gtid_domain_id, and any other domain of its
 * position that no other source writes in (a domain of its cluster's past; one that several
 * carry, written by none of them, is a shared history: the furthest position is taken).
 */
export function ownDomains(sources: readonly SourcePosition[]): Map<string, number[]> {
  const lists = sources.map((s) => domainsOf(parseGtidList(s.gtid)));
  return new Map(
    sources.map((s, i) => {
      const otherWriters = sources.filter((_, j) => j !== i).map((x) => x.domainId);
      const own = lists[i]!.filter((d) => d === s.domainId || !otherWriters.includes(d));
      return [s.cluster, [...new Set([s.domainId, ...own])].sort((a, b) => a - b)];
    }),
  );
}

/** A GTID position restricted to some domains. */
export function restrictToDomains(gtid: string, domains: readonly number[]): string {
  const kept: GtidList = positionOf(parseGtidList(gtid)).filter((g) => domains.includes(g.domain));
  return formatGtidList(kept);
}

/** gtid_slave_pos for the target: every source's own part of its dump position. */
export function provisionedSlavePos(sources: readonly SourcePosition[]): string {
  const own = ownDomains(sources);
  const parts = sources.flatMap((s) =>
    positionOf(parseGtidList(restrictToDomains(s.gtid, own.get(s.cluster) ?? []))),
  );
  return formatGtidList(positionOf(parts));
}

/**
 * The domains a source ADDED to a replica stands for: its gtid_domain_id, and domains of
 * its position no attached source writes (`attachedDomains`: their gtid_domain_ids) and
 * that are `taken` by nobody else: a domain in an attached primary's gtid_binlog_pos or in
 * the target's gtid_slave_pos is a history the target shares already (default domain 0 both
 * clusters wrote before their ids were set, say) — replacing it would make another
 * connection replay or skip it. checkAddSource refuses such a source; this only never
 * replaces such a domain.
 */
export function addedSourceDomains(
  attachedDomains: readonly number[],
  taken: readonly number[],
  added: SourcePosition,
): number[] {
  const others = attachedDomains.map((domainId, i) => ({ cluster: `#${i}`, domainId, gtid: "" }));
  const own = ownDomains([...others, added]).get(added.cluster) ?? [added.domainId];
  return own.filter((d) => d === added.domainId || !taken.includes(d));
}
