import { formatGtidList, type Gtid, parseGtidList } from "@marina/contracts";

export interface GtidSummary {
  /** How many transactions. */
  readonly count: number;
  /** The first and the last GTID per domain and server, as GTID lists. */
  readonly first: string;
  readonly last: string;
}

/** First and last GTID per (domain, server) of GTIDs in the order they were logged. */
export function summarizeGtids(gtids: readonly string[]): GtidSummary {
  const first = new Map<string, Gtid>();
  const last = new Map<string, Gtid>();
  for (const text of gtids) {
    const [g] = parseGtidList(text);
    if (!g) continue;
    const key = `${g.domain}-${g.server}`;
    if (!first.has(key)) first.set(key, g);
    last.set(key, g);
  }
  return {
    count: gtids.length,
    first: formatGtidList([...first.values()]),
    last: formatGtidList([...last.values()]),
  };
}
