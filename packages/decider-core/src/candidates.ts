import { type ClusterConfig, type Promotion, promotionOf } from "@marina/contracts/config";
import {
  atOrBeyond,
  domainsOf,
  formatGtidList,
  type GtidList,
  missingFrom,
  parseGtidList,
  positionOf,
  union,
} from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { divergedServers } from "./donors.js";
import {
  configIndex,
  connectionsTo,
  currentObservation,
  replicationDelays,
  serverConfig,
} from "./knowledge.js";
import type { DeciderState } from "./state.js";

// Rule 2, candidate choice. Among the live replicas of the failed (or demoted) primary,
// exclude the ones that cannot be promoted, rank the rest by the GTIDs they RECEIVED from it
// (Gtid_IO_Pos: what they will have once their relay log is drained); among equals the
// promotion rule (prefer, neutral, preferNot), then the failed primary's datacenter before
// others, then log_slave_updates (repointed replicas read the new primary's binlog), then
// config order. `promotion: never` (neverPromote) and delayed replicas (MASTER_DELAY) are
// excluded; failover.crossDatacenter excludes the other datacenters (never) or tries them
// only after every local replica (onlyIfNoLocal). A named target is the operator's choice:
// the datacenter rule does not apply to it; never and delayed still do.
//
// A delayed replica's IO thread is not delayed: it received more than it applied, and what
// is only in its relay log cannot be pulled through its binlog. So it serves pulls up to
// what it applied. What only its relay log holds is not required of the candidate when the
// replica cannot have acknowledged it — semi-sync slave off and not running there, which
// Marina enforces (durability.ts); with semi-sync on there, it is required, and a candidate
// that lacks it is refused rather than losing a write that may have been acknowledged.
// A live replica that holds transactions the candidate lacks is pulled from first, or the
// candidate is refused: a promotion never loses what a live replica has.
//
// A diverged replica (errant transactions: GTIDs the primary never had, written on it) is
// never promoted and never pulled from: its binlog interleaves its own transactions with
// the primary's. Only what it received from the primary (Gtid_IO_Pos) is required of the
// candidate; if the candidate lacks some of that, the failover is refused with the reason.
//
// Lag: Seconds_Behind_Master is NULL whenever the IO thread is down — i.e. for every replica
// right after a primary dies — so the last non-null value seen is used. Still unknown counts
// as allowed: ranking picks the most advanced anyway and the drain step is bounded by
// failover.drainTimeoutMs, so an unknown lag can delay a failover but never lose data.

/** The fields of a replication connection the choice reads (inspect data has them too). */
export interface ConnectionLike {
  connection: string;
  masterHost: string;
  masterPort: number;
  ioThread: string;
  sqlThread: boolean;
  usingGtid: string;
  gtidIoPos: string;
  secondsBehindMaster: number | null;
  lastSqlErrno: number;
  lastSqlError: string;
  /** MASTER_DELAY (monitors' samples only; see CandidateInput.delays). */
  sqlDelay?: number;
}

/** The fields of an observation the choice reads; ServerObservation and inspect data fit. */
export interface ObservationLike {
  readOnly: boolean;
  logBin: boolean;
  logSlaveUpdates: boolean;
  gtidBinlogPos: string;
  gtidCurrentPos: string;
  gtidSlavePos: string;
  replication: readonly ConnectionLike[];
  /** Semi-sync sides (a delayed replica's may have acknowledged what it has not applied). */
  semiSync?: { slaveEnabled: boolean; slaveStatus: boolean };
}

export interface CandidateInput {
  config: ClusterConfig;
  /** The primary whose replicas are considered. */
  primary: string;
  /** Observations of live servers; a missing or null entry is a server not reachable now. */
  servers: Readonly<Record<string, ObservationLike | null | undefined>>;
  maintenance: readonly string[];
  diverged: readonly string[];
  /** Last non-null Seconds_Behind_Master per server and connection. */
  lastLag: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * MASTER_DELAY per server and connection as the monitors last saw it (an inspection does
   * not carry it); a connection's own `sqlDelay` counts too.
   */
  delays?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  target?: string | null;
  /**
   * failover: the primary is gone, so the candidate must hold (or pull) every transaction a
   * live replica received. switchover: the primary is alive and the target catches up from it.
   */
  mode: "failover" | "switchover";
  /**
   * The GTID domains of the primary's binlog as last seen (absent or empty: unknown). A
   * multi-source replica's connection to the primary reports in Gtid_IO_Pos every domain of
   * gtid_slave_pos — the other sources' too —, so what it "received from the primary" is
   * restricted to these: otherwise another stream's domain makes it look ahead and the
   * candidate would pull that stream from it.
   */
  primaryDomains?: readonly number[];
  /**
   * Exclusions a forced switchover lifts for its named target (the pre-checks that refuse
   * them otherwise: commands/switchover-checks.ts).
   */
  waive?: Readonly<{ maintenance?: boolean; neverPromote?: boolean; lag?: boolean }>;
}

export interface Pull {
  from: string;
  /** The puller's connection name is fixed (see plans); this is the source's own connection. */
  connection: string;
  /** Received position of the source in the primary's domains: pull up to it. */
  pos: string;
}

export interface RankedReplica {
  server: string;
  connection: string;
  /** Received position in the primary's domains. */
  position: string;
  logSlaveUpdates: boolean;
  promotion: Promotion;
  /** In the failed primary's datacenter (servers without a label share ""). */
  local: boolean;
  excluded: string | null;
}

export type CandidateChoice =
  | {
      ok: true;
      candidate: string;
      connection: string;
      position: string;
      pulls: Pull[];
      ranked: RankedReplica[];
      reason: string;
    }
  | {
      ok: false;
      code: "NO_CANDIDATE" | "TARGET_NOT_ELIGIBLE";
      reason: string;
      ranked: RankedReplica[];
    };

interface Replica {
  server: string;
  obs: ObservationLike;
  conn: ConnectionLike;
  /**
   * What a candidate must hold of it: what it received (a delayed replica that cannot have
   * acknowledged anything: what it applied).
   */
  received: GtidList;
  /** What it can serve a pull from, through its binlog (a delayed replica: what it applied). */
  servable: GtidList;
  history: GtidList;
  promotion: Promotion;
  local: boolean;
  /** MASTER_DELAY of its connection to the primary, seconds (0: none). */
  delay: number;
  /** Flagged diverged (errant transactions): never promoted, never a pull's source. */
  diverged: boolean;
  excluded: string | null;
}

type Facts = Omit<Replica, "excluded">;

const PROMOTION_ORDER: Readonly<Record<Promotion, number>> = {
  prefer: 0,
  neutral: 1,
  preferNot: 2,
  never: 3,
};

function datacenterOf(config: ClusterConfig, server: string): string {
  return serverConfig(config, server)?.datacenter ?? "";
}

function gtids(text: string): GtidList {
  return parseGtidList(text);
}

function exclusion(input: CandidateInput, r: Facts): string | null {
  const waive = r.server === input.target ? (input.waive ?? {}) : {};
  if (input.maintenance.includes(r.server) && !waive.maintenance) return "in maintenance";
  if (r.promotion === "never" && !waive.neverPromote) return "promotion is never (neverPromote)";
  if (r.delay > 0) {
    return `delayed replica (MASTER_DELAY ${r.delay} s): never promoted; CHANGE MASTER TO MASTER_DELAY=0 and let it catch up to make it a candidate`;
  }
  if (r.diverged) return "diverged from the primary's history (errant transactions)";
  if (
    !r.local &&
    input.mode === "failover" &&
    input.config.failover.crossDatacenter === "never" &&
    r.server !== input.target
  ) {
    const dc = datacenterOf(input.config, r.server) || "(none)";
    const theirs = datacenterOf(input.config, input.primary) || "(none)";
    return `in datacenter ${dc}, not the failed primary's ${theirs} (failover.crossDatacenter: never)`;
  }
  if (!r.obs.logBin) return "log_bin is off";
  if (!r.conn.sqlThread) return "SQL thread is stopped";
  if (r.conn.lastSqlErrno !== 0) {
    return `SQL thread error ${r.conn.lastSqlErrno}: ${r.conn.lastSqlError}`;
  }
  const lag = r.conn.secondsBehindMaster ?? input.lastLag[r.server]?.[r.conn.connection] ?? null;
  const [bound, key] =
    input.mode === "switchover"
      ? [input.config.switchover.maxLagSeconds, "switchover.maxLagSeconds"]
      : [input.config.failover.maxLagSeconds, "failover.maxLagSeconds"];
  if (lag !== null && lag > bound && !waive.lag) return `lag ${lag} s exceeds ${key} ${bound}`;
  return null;
}

function pullable(r: Replica): string | null {
  if (!r.obs.logBin) return "log_bin is off";
  if (!r.obs.logSlaveUpdates) return "log_slave_updates is off";
  if (!r.conn.sqlThread || r.conn.lastSqlErrno !== 0) return "its SQL thread is not applying";
  return null;
}

/** Replicas of `primary` among the live servers, in config order, with exclusions. */
function replicasOf(input: CandidateInput): { replicas: Replica[]; domains: number[] } {
  const raw: { server: string; obs: ObservationLike; conn: ConnectionLike }[] = [];
  for (const s of input.config.servers) {
    if (s.name === input.primary) continue;
    const obs = input.servers[s.name];
    if (!obs) continue;
    const conn = connectionsTo(input.config, obs, input.primary)[0];
    if (conn) raw.push({ server: s.name, obs, conn });
  }
  const received = domainsOf(raw.flatMap((r) => gtids(r.conn.gtidIoPos)));
  const known = input.primaryDomains ?? [];
  const domains = known.length > 0 ? received.filter((d) => known.includes(d)) : received;
  const inDomains = (l: GtidList) => l.filter((g) => domains.includes(g.domain));
  const primaryDc = datacenterOf(input.config, input.primary);
  const replicas = raw.map((r) => {
    const io = gtids(r.conn.gtidIoPos);
    const current = gtids(r.obs.gtidCurrentPos);
    const binlog = gtids(r.obs.gtidBinlogPos);
    const delay = r.conn.sqlDelay || input.delays?.[r.server]?.[r.conn.connection] || 0;
    const diverged = input.diverged.includes(r.server);
    // A delayed replica serves only what it applied (its binlog); the rest is in its relay log.
    const applied = positionOf(inDomains(union(current, binlog)));
    const all = positionOf(inDomains(union(io, current)));
    const acknowledging = r.obs.semiSync
      ? r.obs.semiSync.slaveEnabled || r.obs.semiSync.slaveStatus
      : true;
    // A diverged replica: only what it received from the primary counts (what it wrote
    // itself is no one's acknowledged write), and it serves nothing (its binlog interleaves
    // its errant transactions with the primary's).
    const received = diverged
      ? positionOf(inDomains(io))
      : delay > 0 && !acknowledging
        ? applied
        : all;
    const servable = diverged ? [] : delay > 0 ? applied : all;
    const history = delay > 0 ? union(current, binlog) : union(io, current, binlog);
    const cfg = serverConfig(input.config, r.server);
    const facts: Facts = {
      ...r,
      received,
      servable,
      history,
      delay,
      diverged,
      promotion: cfg ? promotionOf(cfg) : "neutral",
      local: datacenterOf(input.config, r.server) === primaryDc,
    };
    return { ...facts, excluded: exclusion(input, facts) };
  });
  return { replicas, domains };
}

/**
 * The order candidates are tried in: the most advanced first (how many other eligible
 * replicas each is at or beyond), then promotion, locality, log_slave_updates, config order.
 * With crossDatacenter onlyIfNoLocal (in a failover) every local replica comes before any
 * other: a local one less advanced pulls what it lacks from the others first.
 */
function rank(eligible: Replica[], domains: number[], input: CandidateInput): Replica[] {
  const score = (r: Replica) =>
    eligible.filter((o) => o !== r && atOrBeyondIn(r.received, o.received, domains)).length;
  const localFirst =
    input.mode === "failover" && input.config.failover.crossDatacenter === "onlyIfNoLocal";
  return [...eligible].sort(
    (a, b) =>
      (localFirst ? Number(b.local) - Number(a.local) : 0) ||
      score(b) - score(a) ||
      PROMOTION_ORDER[a.promotion] - PROMOTION_ORDER[b.promotion] ||
      Number(b.local) - Number(a.local) ||
      Number(b.obs.logSlaveUpdates) - Number(a.obs.logSlaveUpdates) ||
      configIndex(input.config, a.server) - configIndex(input.config, b.server),
  );
}

function atOrBeyondIn(a: GtidList, b: GtidList, domains: number[]): boolean {
  return atOrBeyond(
    a,
    b.filter((g) => domains.includes(g.domain)),
  );
}

/** Pulls that give `c` every transaction the other live replicas received, or why not. */
function planPulls(c: Replica, all: Replica[]): { pulls: Pull[] } | { refused: string } {
  let have = c.history;
  const pulls: Pull[] = [];
  // Most advanced sources first: one pull often covers the others.
  const rest = all.filter((r) => r !== c);
  const reach = (r: Replica) => rest.filter((o) => atOrBeyond(r.received, o.received)).length;
  const others = [...rest].sort((a, b) => reach(b) - reach(a));
  for (const r of others) {
    const missing = missingFrom(have, r.received);
    if (missing.length === 0) continue;
    if (r.diverged) {
      return {
        refused: `${r.server} received ${formatGtidList(missing)} that ${c.server} lacks, but it diverged (errant transactions) and cannot serve a pull without them; give ${c.server} those transactions by hand, or promote by hand`,
      };
    }
    const why = pullable(r);
    if (why !== null) {
      return {
        refused: `${r.server} holds ${formatGtidList(missing)} that ${c.server} lacks and cannot serve it (${why})`,
      };
    }
    const unservable = missingFrom(union(have, r.servable), r.received);
    if (unservable.length > 0) {
      return {
        refused: `${r.server} holds ${formatGtidList(unservable)} that ${c.server} lacks only in its relay log (a delayed replica with semi-sync on: it may have acknowledged it); promote nothing until it has applied it, or turn its semi-sync off and check what it acknowledged`,
      };
    }
    pulls.push({ from: r.server, connection: r.conn.connection, pos: formatGtidList(r.servable) });
    have = union(have, r.servable);
  }
  return { pulls };
}

function describe(r: Replica): RankedReplica {
  return {
    server: r.server,
    connection: r.conn.connection,
    position: formatGtidList(r.received),
    logSlaveUpdates: r.obs.logSlaveUpdates,
    promotion: r.promotion,
    local: r.local,
    excluded: r.excluded,
  };
}

export function chooseCandidate(input: CandidateInput): CandidateChoice {
  const { replicas, domains } = replicasOf(input);
  const eligible = rank(
    replicas.filter((r) => r.excluded === null),
    domains,
    input,
  );
  const ranked = [...eligible, ...replicas.filter((r) => r.excluded !== null)].map(describe);
  const target = input.target ?? null;

  let order: Replica[];
  if (target !== null) {
    const t = replicas.find((r) => r.server === target);
    if (target === input.primary) {
      return { ok: false, code: "TARGET_NOT_ELIGIBLE", reason: `${target} is the primary`, ranked };
    }
    if (!t) {
      const why = !serverConfig(input.config, target)
        ? "is not a configured server"
        : !input.servers[target]
          ? "is not reachable"
          : `does not replicate from ${input.primary}`;
      return { ok: false, code: "TARGET_NOT_ELIGIBLE", reason: `${target} ${why}`, ranked };
    }
    if (t.excluded !== null) {
      return { ok: false, code: "TARGET_NOT_ELIGIBLE", reason: `${target}: ${t.excluded}`, ranked };
    }
    order = [t];
  } else {
    if (eligible.length === 0) {
      const why =
        replicas.length === 0
          ? `no live replica replicates from ${input.primary}`
          : replicas.map((r) => `${r.server}: ${r.excluded}`).join("; ");
      return { ok: false, code: "NO_CANDIDATE", reason: why, ranked };
    }
    order = eligible;
  }

  const refusals: string[] = [];
  for (const c of order) {
    const plan = input.mode === "failover" ? planPulls(c, replicas) : { pulls: [] };
    if ("refused" in plan) {
      refusals.push(plan.refused);
      continue;
    }
    const pulled = plan.pulls.length
      ? `; first pulls ${plan.pulls.map((p) => `${p.pos} from ${p.from}`).join(", ")}`
      : "";
    return {
      ok: true,
      candidate: c.server,
      connection: c.conn.connection,
      position: formatGtidList(c.received),
      pulls: plan.pulls,
      ranked,
      reason: `${c.server} ${target !== null ? "(requested)" : "(most advanced eligible)"} received ${formatGtidList(c.received) || "nothing"}${pulled}`,
    };
  }
  return {
    ok: false,
    code: target !== null ? "TARGET_NOT_ELIGIBLE" : "NO_CANDIDATE",
    reason: refusals.join("; "),
    ranked,
  };
}

/**
 * chooseCandidate on what the decider knows now: every server but the primary at its
 * current observation, with the state's maintenance, diverged servers and lags.
 */
export function chooseCandidateNow(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
  mode: CandidateInput["mode"],
  target: string | null = null,
  waive?: CandidateInput["waive"],
): CandidateChoice {
  const servers: Record<string, ServerObservation | null> = {};
  for (const s of config.servers) {
    if (s.name !== primary) servers[s.name] = currentObservation(state, config, s.name, now);
  }
  return chooseCandidate({
    config,
    primary,
    servers,
    primaryDomains: lastPrimaryDomains(state, primary),
    maintenance: Object.keys(state.maintenance),
    diverged: divergedServers(state, config),
    lastLag: state.lastLag,
    delays: replicationDelays(state),
    target,
    mode,
    ...(waive ? { waive } : {}),
  });
}

/** The domains of `primary`'s binlog as last observed, however old (empty: never seen). */
export function lastPrimaryDomains(state: DeciderState, primary: string): number[] {
  const obs = state.lastObservation[primary]?.observation;
  return obs ? domainsOf(gtids(obs.gtidBinlogPos)) : [];
}
