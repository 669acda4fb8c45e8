// Which transactions a flashback undoes: those of the (domain, server) pairs of the extra
// GTIDs, after the fork point and up to the extra GTID (the containment Marina's rejoin check
// uses: the primary has d-s-n when its entry for (d, s) is at or beyond n).
import {
  formatGtid,
  formatGtidList,
  type Gtid,
  type GtidList,
  parseGtidList,
  positionOf,
} from "@marina/contracts";

export interface Selection {
  readonly extra: GtidList;
  readonly fork: GtidList;
}

export function selectionOf(extraGtids: string, forkPoint: string): Selection {
  return { extra: parseGtidList(extraGtids), fork: parseGtidList(forkPoint) };
}

const pair = (a: Gtid, b: Gtid) => a.domain === b.domain && a.server === b.server;

/** The fork's sequence number for (domain, server): 0 when the primary has nothing of it. */
function forkSeq(sel: Selection, g: Gtid): bigint {
  return sel.fork.find((f) => pair(f, g))?.seq ?? 0n;
}

/** `gtid` is one of the extra transactions. */
export function isExtra(sel: Selection, gtid: string): boolean {
  const [g] = parseGtidList(gtid);
  if (!g) return false;
  const x = sel.extra.find((e) => pair(e, g));
  return x !== undefined && g.seq <= x.seq && g.seq > forkSeq(sel, g);
}

/**
 * A transaction that is not extra but falls among them for the tool: same domain and a server
 * of the extra ones (`--do-domain-ids`, `--do-server-ids` select the product of both).
 */
export function isInterleaved(sel: Selection, gtid: string): boolean {
  const [g] = parseGtidList(gtid);
  if (!g || isExtra(sel, gtid)) return false;
  return (
    sel.extra.some((e) => e.domain === g.domain) && sel.extra.some((e) => e.server === g.server)
  );
}

/** `--do-domain-ids` and `--do-server-ids` for the extra transactions. */
export function filterArgs(sel: Selection): string[] {
  const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b).join(",");
  return [
    `--do-domain-ids=${uniq(sel.extra.map((g) => g.domain))}`,
    `--do-server-ids=${uniq(sel.extra.map((g) => g.server))}`,
  ];
}

/**
 * The server is exactly at the fork point in every extra (domain, server) pair (a flashback
 * already done). Not merely "none of the extra ones": a state emptied by a RESET MASTER whose
 * gtid_binlog_state was never set back is not at the fork point, and must not pass as done.
 */
export function atForkPoint(sel: Selection, binlogState: string): boolean {
  const state = parseGtidList(binlogState);
  return sel.extra.every((x) => {
    const have = state.find((s) => pair(s, x))?.seq ?? 0n;
    return have === forkSeq(sel, x);
  });
}

/** The server holds exactly the extra transactions as their last ones (nothing written since). */
export function holdsExtras(sel: Selection, binlogState: string): boolean {
  const state = parseGtidList(binlogState);
  return sel.extra.every((x) => state.find((s) => pair(s, x))?.seq === x.seq);
}

/**
 * gtid_binlog_state as it was at the fork point: each (domain, server) of the extra ones back
 * to its fork GTID (dropped when the primary has nothing of it), the others as they are.
 * Measured on 10.11: after RESET MASTER, `SET GLOBAL gtid_binlog_state` makes the LAST GTID
 * listed for a domain its gtid_binlog_pos, so each domain is listed by sequence number, the
 * highest last (under gtid_strict_mode, the most recent).
 */
export function forkStateOf(sel: Selection, binlogState: string): string {
  const out: Gtid[] = [];
  for (const g of parseGtidList(binlogState)) {
    const x = sel.extra.find((e) => pair(e, g));
    if (!x) out.push(g);
    else {
      const f = sel.fork.find((e) => pair(e, g));
      if (f) out.push(f);
    }
  }
  out.sort((a, b) =>
    a.domain !== b.domain ? a.domain - b.domain : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0,
  );
  // Not formatGtidList: it sorts by server, and the order is what sets the position.
  return out.map(formatGtid).join(",");
}

/** The position that state gives (the highest sequence number per domain). */
export function positionOfState(state: string): string {
  return formatGtidList(positionOf(parseGtidList(state)));
}

/**
 * The extra (domain, server) pairs the first decoded file's initial GTID list (the binlog
 * state when that file began) already has beyond the fork point: transactions of those
 * pairs were written in a file no longer there (purged), so not all of them can be undone.
 * An unknown list (null) says nothing.
 */
export function purgedExtras(sel: Selection, initial: GtidList | null): GtidList {
  if (initial === null) return [];
  return sel.extra.filter((x) => {
    const had = initial.find((g) => pair(g, x))?.seq ?? 0n;
    return had > forkSeq(sel, x);
  });
}
