import type { ClusterConfig } from "@marina/contracts/config";
import type { Situation } from "@marina/contracts/events";
import {
  domainsOf,
  formatGtidList,
  type GtidList,
  parseGtidList,
  positionOf,
  union,
} from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { type CandidateChoice, chooseCandidate } from "./candidates.js";
import { checkFailoverConstraints, type FailoverBlock } from "./constraints.js";
import { assessPrimary, type PrimaryAssessment } from "./evidence.js";
import {
  currentObservation,
  knownWritable,
  maybeReachable,
  observedSinceChange,
  reachability,
  sourceOf,
} from "./knowledge.js";
import type { DeciderOptions } from "./options.js";
import { checkRejoin, historyOf } from "./plans/rejoin.js";
import { assessReadOnlyPrimary, type RestoreIntent } from "./restore-writes.js";
import { CLUSTER, tagOf } from "./situations.js";
import type { DeciderState } from "./state.js";
import { attachedServers } from "./topology.js";

// Diagnosis: every server's situations from the current knowledge, plus what the leader
// should do about them (start a failover or a rejoin, fence a writable server). Pure: the
// caller applies the intents.

type Detail = string | number | boolean | null;

export interface Finding {
  subject: string;
  tag: string;
  situation: Situation;
  server: string | null;
  reason: string;
  extraGtids: string | null;
  details: Record<string, Detail>;
}

export interface FenceIntent {
  server: string;
  /** Kill client sessions too (a former primary may still have writers). */
  kill: boolean;
  why: string;
}

export interface RejoinIntent {
  server: string;
  connection: string;
  useGtid: "slave_pos" | "current_pos";
  wasPrimary: boolean;
  why: string;
}

export interface Diagnosis {
  findings: Finding[];
  assessment: PrimaryAssessment | null;
  /** Set when the primary is dead and a failover may start now. */
  failover: { choice: Extract<CandidateChoice, { ok: true }>; reason: string } | null;
  blocked: FailoverBlock | null;
  rejoin: RejoinIntent | null;
  fences: FenceIntent[];
  /** The primary is read-only and writes may be turned back on (see restore-writes.ts). */
  restoreWrites: RestoreIntent | null;
  /** Servers found diverged from samples (to be flagged). */
  diverged: {
    server: string;
    extra: string;
    reason: string;
    situation: "OldPrimaryDiverged" | "ServerDiverged";
  }[];
  /** Subjects whose situations are kept as they were (their samples predate our changes). */
  carry: string[];
}

function finding(
  subject: string,
  situation: Situation,
  reason: string,
  extra: { code?: string; extraGtids?: string | null; details?: Record<string, Detail> } = {},
): Finding {
  return {
    subject,
    tag: tagOf(situation, extra.code),
    situation,
    server: subject === CLUSTER ? null : subject,
    reason,
    extraGtids: extra.extraGtids ?? null,
    details: extra.details ?? {},
  };
}

/**
 * GTIDs a replica applied that the primary never had: errant transactions. Only domains the
 * primary has are compared (a multi-source replica's other domains are legitimate), and the
 * primary's own server id is skipped: a replica sampled after the primary can be ahead of
 * the primary's older sample without having diverged.
 */
export function errantGtids(
  replica: ServerObservation,
  primaryHistory: GtidList,
  primaryServerId: number,
): GtidList {
  const domains = new Set(primaryHistory.map((g) => g.domain));
  const pos = positionOf(parseGtidList(replica.gtidCurrentPos)).filter(
    (g) => domains.has(g.domain) && g.server !== primaryServerId,
  );
  return pos.filter(
    (g) =>
      !primaryHistory.some((h) => h.domain === g.domain && h.server === g.server && h.seq >= g.seq),
  );
}

/**
 * Why a writable server that is not our primary is NOT our split brain, or null when it is.
 *
 * The decider runs per cluster and sees only its own cluster's servers. A multi-source
 * replica can belong to two clusters (p1 = {db1, db3}, p2 = {db2, db3}) and be promoted by
 * one of them: it is then writable, and the other cluster still sees a replica of its
 * primary. We judge "writable replica" per GTID domain: a server writes in its own
 * gtid_domain_id, so it is the primary of ANOTHER stream — and left alone — when
 *  1. its gtid_domain_id is none of ours (not our primary's gtid_domain_id, nor a domain in
 *     our primary's history): its writes cannot enter our domains or collide with our
 *     GTIDs; and
 *  2. it holds a domain from outside this cluster: one that is neither ours nor its own, so
 *     it replicates (or did) from a primary we do not manage — it is a multi-source member.
 * Rule 2 keeps the fence for the plain case of a replica given its own domain id and
 * written to by mistake (its history is our domains plus its own: fenced as before). A
 * replica in several streams that is made writable by hand is not fenced either: its
 * writes stay in its own domain, outside every stream that replicates into it.
 */
export function writableForOtherDomain(
  server: Pick<
    ServerObservation,
    "gtidDomainId" | "gtidBinlogPos" | "gtidCurrentPos" | "gtidSlavePos"
  >,
  primary: Pick<
    ServerObservation,
    "gtidDomainId" | "gtidBinlogPos" | "gtidBinlogState" | "gtidCurrentPos" | "gtidSlavePos"
  >,
): string | null {
  const ours = new Set([primary.gtidDomainId, ...domainsOf(historyOf(primary))]);
  if (ours.has(server.gtidDomainId)) return null;
  const held = domainsOf(
    union(
      parseGtidList(server.gtidBinlogPos),
      parseGtidList(server.gtidCurrentPos),
      parseGtidList(server.gtidSlavePos),
    ),
  );
  const foreign = held.filter((d) => !ours.has(d) && d !== server.gtidDomainId);
  if (foreign.length === 0) return null;
  const list = [...ours].sort((a, b) => a - b).join(",");
  return `writes in GTID domain ${server.gtidDomainId}, not one of this cluster's (${list}), and carries domain ${foreign.join(",")} from outside it: a primary of another replication stream`;
}

/** writableForOtherDomain on what we know: the server's current sample, the primary's latest. */
export function otherStreamPrimary(
  state: DeciderState,
  config: ClusterConfig,
  name: string,
  now: number,
): string | null {
  const primary = state.primary;
  if (primary === null || name === primary) return null;
  const obs = currentObservation(state, config, name, now);
  // The primary's domains do not change when it goes away: its last sample will do.
  const primaryObs = state.lastObservation[primary]?.observation;
  return obs && primaryObs ? writableForOtherDomain(obs, primaryObs) : null;
}

/**
 * The other servers that may be reachable and may be writable: what must be fenced before
 * `server` is made writable (the primary of another replication stream is not ours).
 */
export function writableOthers(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): string[] {
  return config.servers
    .map((s) => s.name)
    .filter(
      (n) =>
        n !== server &&
        knownWritable(state, n) &&
        maybeReachable(state, config, n, now) &&
        otherStreamPrimary(state, config, n, now) === null,
    );
}

export function diagnose(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  opts: DeciderOptions,
  learn: { reason: string; waiting: boolean } | null,
): Diagnosis {
  const learnReason = learn?.reason ?? null;
  const out: Diagnosis = {
    findings: [],
    assessment: null,
    failover: null,
    blocked: null,
    rejoin: null,
    fences: [],
    restoreWrites: null,
    diverged: [],
    carry: [],
  };
  const primary = state.primary;
  const busy = state.operation !== null;

  // Cluster-wide.
  if (primary === null && !learn?.waiting) {
    out.findings.push(finding(CLUSTER, "NoPrimaryKnown", learnReason ?? "no primary learned yet"));
  }
  const writable = config.servers
    .map((s) => s.name)
    .filter(
      (n) =>
        currentObservation(state, config, n, now) !== null &&
        knownWritable(state, n) &&
        otherStreamPrimary(state, config, n, now) === null,
    );
  if (writable.length > 1) {
    out.findings.push(
      finding(
        CLUSTER,
        "SplitBrainRisk",
        `${writable.length} reachable writable servers: ${writable.join(", ")}`,
        {
          details: { servers: writable.join(",") },
        },
      ),
    );
  }

  // The primary.
  const primaryObs = primary !== null ? currentObservation(state, config, primary, now) : null;
  const primaryHistory = primaryObs ? historyOf(primaryObs) : null;
  if (primary !== null) {
    if (state.maintenance[primary]) {
      out.findings.push(
        finding(primary, "MaintenanceSet", state.maintenance[primary]?.reason ?? ""),
      );
    }
    const a = assessPrimary(state, config, primary, now, opts.agentHeartbeatFreshMs);
    out.assessment = a;
    const details = { verdict: a.verdict, agentDown: a.agentDown };
    switch (a.verdict) {
      case "healthy":
        out.findings.push(
          finding(
            primary,
            "PrimaryHealthy",
            learnReason ? `${learnReason}; ${a.reason}` : a.reason,
            { details },
          ),
        );
        break;
      case "unknown":
        break;
      case "suspect":
        // Keep what was reported until the replicas have spoken.
        out.carry.push(primary);
        break;
      case "unreachable-by-monitor":
        out.findings.push(
          finding(primary, "PrimaryUnreachableByMonitor", `${a.reason}: not failing over`, {
            details,
          }),
        );
        break;
      case "unreachable-seen-by-replicas":
        out.findings.push(
          finding(primary, "PrimaryUnreachableSeenByReplicas", a.reason, { details }),
        );
        break;
      case "dead":
        diagnoseDead(state, config, now, primary, a, busy, out);
        break;
      default: {
        const never: never = a.verdict;
        return never;
      }
    }
  }

  // A primary an operation works on (a switchover demotes it on purpose) is not reported.
  if (
    !busy &&
    primary !== null &&
    primaryObs !== null &&
    primaryHistory !== null &&
    primaryObs.readOnly &&
    (out.assessment?.verdict === "healthy" ||
      out.assessment?.verdict === "unreachable-seen-by-replicas") &&
    !knownWritable(state, primary) &&
    observedSinceChange(state, primary)
  ) {
    const v = assessReadOnlyPrimary(state, config, now, primary, primaryObs, primaryHistory);
    out.findings.push(finding(primary, "PrimaryReadOnly", v.reason));
    if (v.restore) out.restoreWrites = v.intent;
  }

  // Everyone else.
  const attached = new Set(attachedServers(state, config, now));
  for (const s of config.servers) {
    if (s.name === primary) continue;
    diagnoseServer(
      state,
      config,
      now,
      opts,
      s.name,
      primary,
      primaryObs,
      primaryHistory,
      attached,
      out,
    );
  }
  if (busy) {
    out.failover = null;
    out.rejoin = null;
    out.restoreWrites = null;
    // A writable server the operation does not touch is still fenced; the ones it works
    // on change read_only on purpose.
    const involved = new Set(state.operation?.steps.map((x) => x.server));
    out.fences = out.fences.filter((x) => !involved.has(x.server));
  }
  return out;
}

function diagnoseDead(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
  a: PrimaryAssessment,
  busy: boolean,
  out: Diagnosis,
) {
  const details = { verdict: a.verdict, agentDown: a.agentDown };
  if (busy) {
    out.findings.push(finding(primary, "PrimaryDead", a.reason, { details }));
    return;
  }
  const block = checkFailoverConstraints({
    config,
    now,
    failovers: state.failovers,
    primary,
    primaryInMaintenance: state.maintenance[primary] !== undefined,
    primaryLastObservation: state.lastObservation[primary]?.observation ?? null,
  });
  if (block) {
    out.blocked = block;
    out.findings.push(
      finding(primary, "PrimaryDead", `${a.reason}; failover blocked`, { details }),
    );
    out.findings.push(finding(primary, "FailoverBlocked", block.reason, { code: block.code }));
    return;
  }
  const servers: Record<string, ServerObservation | null> = {};
  for (const s of config.servers) {
    if (s.name !== primary) servers[s.name] = currentObservation(state, config, s.name, now);
  }
  const choice = chooseCandidate({
    config,
    primary,
    servers,
    maintenance: Object.keys(state.maintenance),
    diverged: Object.keys(state.diverged),
    lastLag: state.lastLag,
    mode: "failover",
  });
  if (!choice.ok) {
    out.findings.push(finding(primary, "PrimaryDead", `${a.reason}; no candidate`, { details }));
    out.findings.push(finding(primary, "PrimaryDeadNoCandidate", choice.reason));
    return;
  }
  const reason = `${a.reason}; failing over to ${choice.reason}`;
  out.findings.push(
    finding(primary, "PrimaryDead", reason, {
      details: { ...details, candidate: choice.candidate },
    }),
  );
  out.failover = { choice, reason };
}

function diagnoseServer(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  opts: DeciderOptions,
  name: string,
  primary: string | null,
  primaryObs: ServerObservation | null,
  primaryHistory: GtidList | null,
  attached: Set<string>,
  out: Diagnosis,
) {
  const f = config.failover;
  const push = (situation: Situation, reason: string, extra: Parameters<typeof finding>[3] = {}) =>
    out.findings.push(finding(name, situation, reason, extra));
  if (state.maintenance[name]) {
    push("MaintenanceSet", state.maintenance[name]?.reason || "in maintenance");
    return;
  }
  const reach = reachability(state, config, name, now);
  const ex = state.exPrimaries[name];
  const inOperation = state.operation?.steps.some((x) => x.server === name) ?? false;
  if (reach === "reachable" && (inOperation || !observedSinceChange(state, name))) {
    out.carry.push(name);
    return;
  }
  if (reach === "unreachable") {
    if (!ex) push("ReplicaUnreachable", "no monitor reaches it");
    return;
  }
  const obs = currentObservation(state, config, name, now);
  if (!obs) return;
  const writable = knownWritable(state, name);

  const dv = state.diverged[name];
  if (dv) {
    push(dv.situation, `${dv.reason}: left read-only for a rebuild`, { extraGtids: dv.extraGtids });
    if (writable) out.fences.push({ server: name, kill: true, why: "diverged server is writable" });
    return;
  }

  if (ex) {
    if (primaryHistory === null) {
      push(
        "OldPrimaryReturned",
        `former primary is reachable again (read_only=${obs.readOnly ? 1 : 0}); waiting for the primary to compare`,
      );
      if (writable)
        out.fences.push({ server: name, kill: true, why: "former primary is writable" });
      return;
    }
    const check = checkRejoin(obs, primaryHistory);
    if (!check.ok && check.diverged) {
      push("OldPrimaryDiverged", `${name} ${check.reason}: left read-only for a rebuild`, {
        extraGtids: check.extra,
      });
      out.diverged.push({
        server: name,
        extra: check.extra,
        reason: check.reason,
        situation: "OldPrimaryDiverged",
      });
      out.fences.push({ server: name, kill: true, why: "former primary diverged" });
      return;
    }
    const failedAt = state.rejoinFailures[name];
    const canRetry = failedAt === undefined || now - failedAt >= opts.rejoinRetryMs;
    const plan = !check.ok
      ? `cannot rejoin: ${check.reason}`
      : !f.autoRejoin
        ? "failover.autoRejoin is off: run the rejoin command"
        : !canRetry
          ? `rejoin failed ${now - (failedAt ?? now)} ms ago; retrying after ${opts.rejoinRetryMs} ms`
          : `rejoining to ${primary}`;
    push(
      "OldPrimaryReturned",
      `former primary is reachable again (read_only=${obs.readOnly ? 1 : 0}); ${plan}`,
    );
    if (check.ok && f.autoRejoin && canRetry && out.rejoin === null && primary !== null) {
      out.rejoin = {
        server: name,
        connection: "",
        useGtid: "slave_pos",
        wasPrimary: true,
        why: "former primary returned",
      };
    } else if (writable) {
      out.fences.push({ server: name, kill: true, why: "former primary is writable" });
    }
    return;
  }

  // A replica (or a stray).
  if (primary !== null && !attached.has(name)) {
    const sources = obs.replication
      .map((c) => ({ c, source: sourceOf(config, c) }))
      .filter(
        (x): x is { c: (typeof obs.replication)[number]; source: string } => x.source !== null,
      );
    if (sources.length === 0) {
      push("ReplicaBroken", "replicates from no configured server (standalone)");
    } else {
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
          return;
        }
        const failedAt = state.rejoinFailures[name];
        const canRetry = failedAt === undefined || now - failedAt >= opts.rejoinRetryMs;
        if (check.ok && f.autoRejoin && canRetry && out.rejoin === null) {
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
    }
  } else {
    const broken: string[] = [];
    const lagging: string[] = [];
    for (const c of obs.replication) {
      const src = sourceOf(config, c);
      const label = `'${c.connection}'${src ? ` from ${src}` : ""}`;
      if (!c.sqlThread || c.lastSqlErrno !== 0) {
        broken.push(
          `${label}: SQL thread ${c.sqlThread ? "running" : "stopped"}${c.lastSqlErrno ? `, error ${c.lastSqlErrno}: ${c.lastSqlError}` : ""}`,
        );
      } else if (c.ioThread === "No") {
        broken.push(
          `${label}: IO thread stopped${c.lastIoErrno ? `, error ${c.lastIoErrno}: ${c.lastIoError}` : ""}`,
        );
      } else if (
        c.ioThread !== "Yes" &&
        src !== null &&
        reachability(state, config, src, now) === "reachable"
      ) {
        broken.push(
          `${label}: IO thread ${c.ioThread} while ${src} is reachable${c.lastIoErrno ? ` (error ${c.lastIoErrno}: ${c.lastIoError})` : ""}`,
        );
      }
      if (c.secondsBehindMaster !== null && c.secondsBehindMaster > f.maxLagSeconds) {
        lagging.push(`${label}: ${c.secondsBehindMaster} s behind (max ${f.maxLagSeconds})`);
      }
    }
    if (broken.length) push("ReplicaBroken", broken.join("; "));
    if (lagging.length) push("ReplicaLagging", lagging.join("; "));
    if (primary !== null && primaryObs !== null && primaryHistory !== null) {
      const errant = errantGtids(obs, primaryHistory, primaryObs.serverId);
      if (errant.length) {
        push(
          "ServerDiverged",
          `applied ${formatGtidList(errant)} that ${primary} never had (errant transactions)`,
          {
            extraGtids: formatGtidList(errant),
          },
        );
      }
    }
  }
  const op = state.operation;
  const promoting = op !== null && (op.servers.candidate === name || op.servers.target === name);
  if (
    writable &&
    primary !== null &&
    !promoting &&
    otherStreamPrimary(state, config, name, now) === null
  ) {
    const enforce = f.enforceReadOnly;
    push(
      "ReplicaWritable",
      `read_only is off on a server that is not the primary${enforce ? ": setting read_only=1" : " (failover.enforceReadOnly is off)"}`,
    );
    if (enforce) out.fences.push({ server: name, kill: false, why: "replica is writable" });
  }
}
