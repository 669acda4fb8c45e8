import type { ClusterConfig } from "@marina/contracts/config";
import type { DryRunCandidate } from "@marina/contracts/dry-run";
import { atOrBeyond, parseGtidList } from "@marina/contracts/gtid";
import type { CandidateChoice, RankedReplica } from "../candidates.js";
import { configIndex } from "../knowledge.js";

// The candidate ranking of chooseCandidate (candidates.ts), each rank with the reason it
// has: the sort keys in their order — how many other eligible replicas it is at or beyond
// (received GTIDs), the promotion rule, the failed primary's datacenter or not,
// log_slave_updates, the order of the config.

function reasonOf(r: RankedReplica, eligible: readonly RankedReplica[], index: number): string {
  const mine = parseGtidList(r.position);
  const others = eligible.filter((o) => o !== r);
  const beyond = others.filter((o) => atOrBeyond(mine, parseGtidList(o.position))).length;
  const received = `received ${r.position || "nothing"}`;
  const ahead =
    others.length === 0
      ? "the only eligible replica"
      : `at or beyond ${beyond} of the ${others.length} other eligible`;
  const rule = r.promotion === "neutral" ? "" : `; promotion ${r.promotion}`;
  const dc = r.local ? "" : "; in another datacenter than the primary's";
  return `${received}; ${ahead}${rule}${dc}; log_slave_updates ${r.logSlaveUpdates ? "on" : "off"}; ${ordinal(index + 1)} among them in the config order`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${s}`;
}

/** The ranking of a candidate choice, with the chosen one marked. */
export function rankingOf(choice: CandidateChoice, config: ClusterConfig): DryRunCandidate[] {
  const eligible = choice.ranked.filter((r) => r.excluded === null);
  const byConfig = [...eligible].sort(
    (a, b) => configIndex(config, a.server) - configIndex(config, b.server),
  );
  return choice.ranked.map((r) => {
    const rank = r.excluded === null ? eligible.indexOf(r) + 1 : null;
    const chosen = choice.ok && choice.candidate === r.server;
    const reason =
      r.excluded !== null
        ? `excluded: ${r.excluded}`
        : `${reasonOf(r, eligible, byConfig.indexOf(r))}${chosen && choice.ok && choice.pulls.length ? `; first pulls ${choice.pulls.map((p) => `${p.pos} from ${p.from}`).join(", ")}` : ""}`;
    return { server: r.server, rank, position: r.position, chosen, reason };
  });
}
