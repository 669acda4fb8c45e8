import {
  formatGtidList,
  type GtidList,
  hasTransaction,
  parseGtidList,
  positionOf,
  seqInDomain,
  union,
} from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { reachability, sourceOf } from "../knowledge.js";
import { checkRejoin } from "../plans/rejoin.js";
import { pushFor, type ServerCtx } from "./findings.js";

// A replica's health (broken threads, lag, errant transactions), and a stray: a server that
// replicates from nothing, or from outside the topology (rejoined when it can be).

/**
 * GTIDs a replica applied that the primary never had: errant transactions. Its current
 * position, and from its binlog state every (domain, server) pair beyond anything the
 * primary has in that domain: with gtid_strict_mode off, the next replicated transaction
 * moves gtid_current_pos past an errant one, which stays in the binlog state. (Older pairs
 * of the binlog state are not judged: a primary rebuilt from a backup lacks its own older
 * history, and those would look errant.) Only domains the primary has are compared (a
 * multi-source replica's other domains are legitimate), and the primary's own server id is
 * skipped: a replica sampled after the primary can be ahead of the primary's older sample
 * without having diverged.
 */
export function errantGtids(
  replica: ServerObservation,
  primaryHistory: GtidList,
  primaryServerId: number,
): GtidList {
  const domains = new Set(primaryHistory.map((g) => g.domain));
  const beyond = parseGtidList(replica.gtidBinlogState ?? "").filter(
    (g) => g.seq > seqInDomain(primaryHistory, g.domain),
  );
  const pos = union(positionOf(parseGtidList(replica.gtidCurrentPos)), beyond).filter(
    (g) => domains.has(g.domain) && g.server !== primaryServerId,
  );
  return pos.filter((g) => !hasTransaction(primaryHistory, g));
}

/**
 * How much later the primary's probe must have begun than the replica's sample arrived for
 * the two to be compared for errant transactions: a replica has nothing of the primary's
 * that a later look at the primary would not show (transport and clock slack).
 */
export const ERRANT_ORDER_MARGIN_MS = 50;

/**
 * Whether errant GTIDs `extra` found on `replica` now are sure: some sample of the replica
 * showing exactly them arrived before the primary's current sample was begun — anything
 * the replica got from the primary is in that primary sample, so what it lacks is errant
 * for sure (an earlier primary sample could merely be behind). The first such sample's
 * arrival is remembered (Diagnosis.errantSeen, state.errantSeen): comparing only the
 * latest samples would never confirm a replica whose probe always answers before the
 * busy primary's of the same round.
 */
function errantSure(c: ServerCtx, extra: string): boolean {
  const { state, name, primary } = c;
  const r = state.lastObservation[name];
  const p = primary !== null ? state.lastObservation[primary] : undefined;
  if (!r || !p) return false;
  const seen = state.errantSeen?.[name];
  const since = extra !== "" && seen?.extra === extra ? seen.at : r.at;
  if (extra !== "") c.out.errantSeen[name] = { extra, at: since };
  return since + ERRANT_ORDER_MARGIN_MS <= (p.takenAt ?? p.at);
}

/**
 * A replica's errant transactions as far as can be told for sure now: the GTIDs ("" when
 * the primary has them all: an operator replayed them there, say), or null when the
 * samples cannot tell (no primary sample begun after the replica's, or it does not
 * replicate from the topology: a flagged server is not attached, its sources are).
 */
export function confirmedErrant(c: ServerCtx, obs: ServerObservation): string | null {
  const { config, primary, primaryObs, primaryHistory } = c;
  if (primary === null || primaryObs === null || primaryHistory === null) return null;
  const fromTopology = obs.replication.some((conn) => {
    const src = sourceOf(config, conn);
    return src !== null && (src === primary || c.attached.has(src));
  });
  if (!fromTopology) return null;
  const extra = formatGtidList(errantGtids(obs, primaryHistory, primaryObs.serverId));
  return errantSure(c, extra) ? extra : null;
}

export function errantReason(extra: string, primary: string): string {
  return `applied ${extra} that ${primary} never had (errant transactions)`;
}

/** A server not attached to the topology; "diverged" when it was found so (and handled). */
export function diagnoseStray(
  c: ServerCtx,
  obs: ServerObservation,
  writable: boolean,
): "diverged" | "stray" {
  const { state, config, now, opts, name, primary, primaryHistory, out } = c;
  const push = pushFor(c);
  const sources = obs.replication
    .map((conn) => ({ c: conn, source: sourceOf(config, conn) }))
    .filter((x): x is { c: (typeof obs.replication)[number]; source: string } => x.source !== null);
  if (sources.length === 0) {
    push("ReplicaBroken", "replicates from no configured server (standalone)");
    return "stray";
  }
  const stray = sources[0]!;
  let why = `replicates from ${stray.source} (connection '${stray.c.connection}'), outside the topology`;
  if (primaryHistory !== null) {
    const check = checkRejoin(obs, primaryHistory);
    if (!check.ok && check.diverged) {
      push("ServerDiverged", `${name} ${check.reason}`, { extraGtids: check.extra });
      out.diverged.push({
        server: name,
        extra: check.extra,
        reason: check.reason,
        situation: "ServerDiverged",
      });
      if (writable)
        out.fences.push({ server: name, kill: true, why: "diverged server is writable" });
      return "diverged";
    }
    const failedAt = state.rejoinFailures[name];
    const canRetry = failedAt === undefined || now - failedAt >= opts.rejoinRetryMs;
    if (check.ok && config.failover.autoRejoin && canRetry && out.rejoin === null) {
      why += `; rejoining to ${primary}`;
      out.rejoin = {
        server: name,
        connection: stray.c.connection,
        useGtid: stray.c.usingGtid === "Current_Pos" ? "current_pos" : "slave_pos",
        wasPrimary: false,
        why: "stray replica",
      };
    }
  }
  push("ReplicaBroken", why);
  return "stray";
}

/** A replica of the topology: broken threads, lag, errant transactions. */
export function diagnoseReplica(c: ServerCtx, obs: ServerObservation) {
  const { primary, primaryObs, primaryHistory } = c;
  const push = pushFor(c);
  const { broken, lagging } = replicationTrouble(c, obs);
  if (broken.length) push("ReplicaBroken", broken.join("; "));
  if (lagging.length) push("ReplicaLagging", lagging.join("; "));
  if (primary !== null && primaryObs !== null && primaryHistory !== null) {
    const errant = errantGtids(obs, primaryHistory, primaryObs.serverId);
    if (errant.length) {
      const extra = formatGtidList(errant);
      const reason = errantReason(extra, primary);
      push("ServerDiverged", reason, { extraGtids: extra });
      // Flagged (excluded from promotion, saved, repaired) once a later primary sample
      // confirms it; until then the situation alone excludes it (flaggedDiverged).
      if (errantSure(c, extra)) {
        c.out.diverged.push({
          server: c.name,
          extra,
          reason,
          situation: "ServerDiverged",
          errant: true,
        });
      }
    }
  }
}

function replicationTrouble(c: ServerCtx, obs: ServerObservation) {
  const { state, config, now } = c;
  const maxLag = config.failover.maxLagSeconds;
  const broken: string[] = [];
  const lagging: string[] = [];
  for (const conn of obs.replication) {
    const src = sourceOf(config, conn);
    const label = `'${conn.connection}'${src ? ` from ${src}` : ""}`;
    if (!conn.sqlThread || conn.lastSqlErrno !== 0) {
      broken.push(
        `${label}: SQL thread ${conn.sqlThread ? "running" : "stopped"}${conn.lastSqlErrno ? `, error ${conn.lastSqlErrno}: ${conn.lastSqlError}` : ""}`,
      );
    } else if (conn.ioThread === "No") {
      broken.push(
        `${label}: IO thread stopped${conn.lastIoErrno ? `, error ${conn.lastIoErrno}: ${conn.lastIoError}` : ""}`,
      );
    } else if (
      conn.ioThread !== "Yes" &&
      src !== null &&
      reachability(state, config, src, now) === "reachable"
    ) {
      broken.push(
        `${label}: IO thread ${conn.ioThread} while ${src} is reachable${conn.lastIoErrno ? ` (error ${conn.lastIoErrno}: ${conn.lastIoError})` : ""}`,
      );
    }
    if (conn.secondsBehindMaster !== null && conn.secondsBehindMaster > maxLag) {
      lagging.push(`${label}: ${conn.secondsBehindMaster} s behind (max ${maxLag})`);
    }
  }
  return { broken, lagging };
}
