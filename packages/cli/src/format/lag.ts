// How far a server is behind the primary, from the GTID positions the decider's status
// reports: per domain of the primary's position, the primary's last sequence number minus
// the server's (gtid_strict_mode keeps a domain's history linear, so that is a count of
// transactions). The status has no Seconds_Behind_Master; this is what it can tell.
import { parseGtidList, seqInDomain } from "@marina/contracts";

export type Lag =
  | { kind: "none" }
  | { kind: "behind"; transactions: bigint }
  /** Further than the primary in one of its domains: transactions the primary lacks. */
  | { kind: "ahead" }
  | { kind: "unknown" };

export function transactionsBehind(primaryPos: string | null, serverPos: string | null): Lag {
  if (primaryPos === null || serverPos === null) return { kind: "unknown" };
  let primary: ReturnType<typeof parseGtidList>;
  let server: ReturnType<typeof parseGtidList>;
  try {
    primary = parseGtidList(primaryPos);
    server = parseGtidList(serverPos);
  } catch {
    return { kind: "unknown" };
  }
  let behind = 0n;
  for (const g of primary) {
    const have = seqInDomain(server, g.domain);
    if (have > g.seq) return { kind: "ahead" };
    if (have < g.seq) behind += g.seq - (have < 0n ? 0n : have);
  }
  return behind === 0n ? { kind: "none" } : { kind: "behind", transactions: behind };
}

export function formatLag(lag: Lag): string {
  switch (lag.kind) {
    case "none":
      return "0";
    case "behind":
      return `${lag.transactions} trx`;
    case "ahead":
      return "ahead";
    case "unknown":
      return "?";
    default: {
      const never: never = lag;
      return never;
    }
  }
}
