import type { ClusterConfig } from "@marina/contracts/config";
import {
  formatGtidList,
  missingFrom,
  parseGtidList,
  positionOf,
  union,
} from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { type DiagnoseCtx, finding } from "../diagnose/findings.js";
import { currentObservation, reachability, sourceOf } from "../knowledge.js";
import { CLUSTER } from "../situations.js";
import type { AllDown, DeciderState, LastKnown } from "../state.js";

// Whole cluster down (issue 18). When every server was down at once, nobody saw which of the
// last primary's writes reached a replica: the replicas may have been stopped before it, or
// have lost their relay logs' tail. So Marina waits for the last primary, and promotes only
// a server holding every transaction the last primary was seen to have (its gtid_binlog_pos
// in its last sample, or the persisted `lastKnown` after a decider restart). Anything that
// may lose writes happens only on an operator's failover with `acceptLoss` (its dry-run
// names what would be lost), or under `failover.allDown: promoteMostAdvancedMayLoseWrites` —
// never by a timeout.

/** How often a server's last known positions are refreshed in the persisted state. */
export const LAST_KNOWN_EVERY_MS = 5_000;

/** Records a reachable server's role and positions (throttled; at once on a role change). */
export function recordLastKnown(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  obs: ServerObservation,
  now: number,
) {
  const role: LastKnown["role"] =
    server === state.primary
      ? "primary"
      : obs.replication.some((c) => sourceOf(config, c) !== null)
        ? "replica"
        : "other";
  const have = state.lastKnown?.[server];
  const same =
    have?.gtidBinlogPos === obs.gtidBinlogPos && have?.gtidCurrentPos === obs.gtidCurrentPos;
  if (have && have.role === role && (same || now - have.at < LAST_KNOWN_EVERY_MS)) return;
  state.lastKnown = {
    ...state.lastKnown,
    [server]: {
      role,
      gtidBinlogPos: obs.gtidBinlogPos,
      gtidCurrentPos: obs.gtidCurrentPos,
      at: now,
    },
  };
}

/** What the last primary was last seen to have: its freshest sample, or the persisted record. */
function lastSeen(state: DeciderState, primary: string): { gtid: string; at: number } | null {
  const rec = state.lastObservation[primary];
  const known = state.lastKnown?.[primary];
  if (rec && (!known || rec.at >= known.at)) {
    return { gtid: rec.observation.gtidBinlogPos, at: rec.at };
  }
  return known ? { gtid: known.gtidBinlogPos, at: known.at } : null;
}

/**
 * Sets state.allDown when every configured server is unreachable (every monitor with a
 * fresh sample refused or timed out: not merely unknown), and clears it when the last
 * primary is reachable again or another server became the primary.
 */
export function trackAllDown(state: DeciderState, config: ClusterConfig, now: number) {
  const primary = state.primary;
  const have = state.allDown ?? null;
  if (have) {
    // Not merely when the last primary is reachable again: it may die again before any
    // replica caught up (a crash loop). Once another server holds everything it was last
    // seen to have, the ordinary rules protect what it acknowledges next.
    const caughtUp = config.servers.some((s) => {
      if (s.name === have.primary) return false;
      const obs = currentObservation(state, config, s.name, now);
      return obs !== null && allDownLoss(have, s.name, historyOf(obs)).ok;
    });
    if (primary !== have.primary || caughtUp) state.allDown = null;
    return;
  }
  if (primary === null) return;
  const down = config.servers.every(
    (s) => reachability(state, config, s.name, now) === "unreachable",
  );
  if (!down) return;
  const seen = lastSeen(state, primary);
  state.allDown = {
    since: now,
    primary,
    primaryGtid: seen?.gtid ?? "",
    seenAt: seen?.at ?? now,
  };
}

export type LossVerdict =
  | { readonly ok: true; readonly reason: string }
  | { readonly ok: false; readonly missing: string; readonly reason: string };

/**
 * Whether promoting a server whose history is `history` (what it applied, received and
 * logged) loses anything the last primary was seen to have, after the whole cluster went
 * down. Always ok when it did not.
 */
export function allDownLoss(
  allDown: AllDown | null | undefined,
  candidate: string,
  history: readonly string[],
): LossVerdict {
  if (!allDown) return { ok: true, reason: "the cluster did not go down as a whole" };
  const had = parseOrNull(allDown.primaryGtid);
  if (had === null) {
    return {
      ok: false,
      missing: allDown.primaryGtid,
      reason: `every server went down; what the last primary ${allDown.primary} was last seen to have is unreadable ("${allDown.primaryGtid.slice(0, 100)}"): waiting for ${allDown.primary} to come back (a failover with acceptLoss promotes ${candidate} anyway)`,
    };
  }
  const holds = union(...history.map((h) => parseOrNull(h) ?? []));
  const missing = missingFrom(holds, had);
  if (missing.length === 0) {
    return {
      ok: true,
      reason: `${candidate} holds everything ${allDown.primary} was last seen to have (${allDown.primaryGtid || "nothing"})`,
    };
  }
  const text = formatGtidList(missing);
  const domains = new Set(had.map((g) => g.domain));
  const has = formatGtidList(positionOf(holds.filter((g) => domains.has(g.domain)))) || "nothing";
  return {
    ok: false,
    missing: text,
    reason: `every server went down; ${candidate} has ${has}, lacking transactions up to ${text} that the last primary ${allDown.primary} was last seen to have (${allDown.primaryGtid}): waiting for ${allDown.primary} to come back (a failover with acceptLoss promotes ${candidate} and loses them; its dry-run shows the plan)`,
  };
}

/**
 * allDownLoss for a candidate choice: what the candidate holds (its observation: applied,
 * received, logged) and what it will pull from the others before the promotion.
 */
export function choiceLoss(
  allDown: AllDown | null | undefined,
  choice: { readonly candidate: string; readonly pulls: readonly { readonly pos: string }[] },
  obs: Parameters<typeof historyOf>[0] | null | undefined,
): LossVerdict {
  return allDownLoss(allDown, choice.candidate, [
    ...(obs ? historyOf(obs) : []),
    ...choice.pulls.map((x) => x.pos),
  ]);
}

/** The candidate's history as the choice sees it: applied, received (IO) and logged. */
export function historyOf(obs: {
  gtidCurrentPos: string;
  gtidBinlogPos: string;
  replication: readonly { gtidIoPos: string }[];
}): string[] {
  return [obs.gtidCurrentPos, obs.gtidBinlogPos, ...obs.replication.map((c) => c.gtidIoPos)];
}

/** While the whole cluster is down, or back without its last primary: AllServersDown. */
export function diagnoseAllDown(c: DiagnoseCtx) {
  const a = c.state.allDown;
  if (!a) return;
  const since =
    Number.isFinite(a.since) && Math.abs(a.since) <= 8.64e15
      ? new Date(a.since).toISOString()
      : String(a.since);
  const back = reachability(c.state, c.config, a.primary, c.now) === "reachable";
  const wait = back
    ? `the last primary ${a.primary} is back; until another server holds everything it was seen to have (${a.primaryGtid || "nothing"})`
    : `waiting for the last primary ${a.primary}, last seen with ${a.primaryGtid || "nothing"};`;
  c.out.findings.push(
    finding(
      CLUSTER,
      "AllServersDown",
      `every server was down at once (since ${since}): ${wait} only a server holding all of it is promoted (failover.allDown: ${c.config.failover.allDown})`,
      { details: { primary: a.primary, primaryGtid: a.primaryGtid } },
    ),
  );
}

/** A GTID list, or null for a text that is not one (a hand-edited persisted state). */
function parseOrNull(text: string) {
  try {
    return parseGtidList(text);
  } catch {
    return null;
  }
}
