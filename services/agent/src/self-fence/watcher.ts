// The agent's self-fence loop (rule.ts says when): every `checkEveryMs` it looks at the
// lease its watch holds for each cluster it serves; while renewals arrive it keeps the
// cluster's last topology (the candidates to check); once none has arrived for `afterMs`,
// each writable local server is checked against its candidates and fenced when one is out
// of reach. Once per outage per server: a server made writable again by hand while
// coordination is still lost is left alone.
import type { ClusterTopology } from "@marina/contracts";
import type { LeaseView } from "@marina/lease-fence";
import type { Logger } from "pino";
import type { AgentServerConfig, SelfFenceConfig } from "../config.js";
import type { LocalFence } from "../host/local-sql.js";
import { candidatePeers, coordinationLost, type Peer, selfFenceVerdict } from "./rule.js";

export interface SelfFenceDeps {
  readonly config: SelfFenceConfig;
  /** The servers on this host (not those served over SSH: a remote agent is not beside them). */
  readonly servers: readonly AgentServerConfig[];
  /** What the lease watch last saw for a cluster (LeaseSource.cached). */
  readonly leaseCached: (cluster: string) => LeaseView | null | undefined;
  /** The cluster's last published topology; null when none. Throws when it cannot tell. */
  readonly readTopology: (cluster: string) => Promise<ClusterTopology | null>;
  /** Whether a TCP connection to the peer's MariaDB port opens within the timeout. */
  readonly reachable: (peer: Peer, timeoutMs: number) => Promise<boolean>;
  /**
   * Whether a JetStream request that only a NATS majority answers (the lease bucket's
   * stream info, from its stream leader) is answered within the timeout.
   */
  readonly natsMajority: (timeoutMs: number) => Promise<boolean>;
  readonly readOnly: (server: AgentServerConfig) => Promise<boolean>;
  readonly fence: (server: AgentServerConfig) => Promise<LocalFence>;
  readonly now: () => number;
  readonly log: Logger;
  /** Told of each server this agent fenced (not of one found read-only already). */
  readonly onFenced?: (server: AgentServerConfig) => void;
}

/** What the self-fence sees now, per cluster it watches (for /metrics). */
export interface SelfFenceState {
  readonly clusters: readonly {
    readonly cluster: string;
    /** A lease renewal was seen once: losing them would count. */
    readonly armed: boolean;
    /** No renewal seen for afterMs. */
    readonly lost: boolean;
    /** The local servers of the cluster, and those fenced in the current outage. */
    readonly servers: readonly string[];
    readonly fenced: readonly string[];
  }[];
}

interface ClusterWatch {
  /** The latest expiry seen: a renewal moves it forward (a re-delivered value does not). */
  lastExpiresAt: number;
  lastEpoch: number | null;
  /** What the last lease seen said of a pause (kept while nothing is seen). */
  paused: boolean;
  /** When a renewal (a new lease value, unexpired) was last seen; null: never. */
  renewalSeenAt: number | null;
  topology: ClusterTopology | null;
  topologyReadAt: number;
  /** The topology reads are failing (warned once per streak). */
  topologyFailing: boolean;
  /** Servers handled (fenced, or kept and logged) in the current outage. */
  fenced: Set<string>;
  kept: Set<string>;
}

export interface SelfFence {
  /** A topology published live (the agent subscribes to its clusters' topology). */
  offerTopology(topology: ClusterTopology): void;
  start(): void;
  stop(): Promise<void>;
  /** One pass now (tests). */
  check(): Promise<void>;
  state(): SelfFenceState;
}

export function selfFence(d: SelfFenceDeps): SelfFence {
  const cfg = d.config;
  const watches = new Map<string, ClusterWatch>();
  for (const s of d.servers) {
    if (!watches.has(s.cluster)) {
      watches.set(s.cluster, {
        lastExpiresAt: Number.NEGATIVE_INFINITY,
        lastEpoch: null,
        paused: false,
        renewalSeenAt: null,
        topology: null,
        topologyReadAt: Number.NEGATIVE_INFINITY,
        topologyFailing: false,
        fenced: new Set(),
        kept: new Set(),
      });
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const observe = (cluster: string, w: ClusterWatch, now: number) => {
    const view = d.leaseCached(cluster);
    // Nothing seen (the watch restarting, or the lease deleted): the last lease stands.
    if (!view) return;
    w.paused = view.paused === true;
    // A renewal is a new, later expiry (or a new epoch), not yet expired: a majority stored
    // it just now. The same value delivered again after the watch restarted is not one.
    const expiresAt = view.expiresAt ?? Number.POSITIVE_INFINITY;
    const renewed = view.epoch !== w.lastEpoch || expiresAt > w.lastExpiresAt;
    w.lastEpoch = view.epoch;
    w.lastExpiresAt = Math.max(w.lastExpiresAt, expiresAt);
    if (!renewed || expiresAt <= now) return;
    if (w.renewalSeenAt !== null && coordinationLost(w.renewalSeenAt, now, cfg.afterMs)) {
      d.log.info({ cluster }, "self-fence: lease renewals seen again");
    }
    w.renewalSeenAt = now;
    w.fenced.clear();
    w.kept.clear();
  };

  const refreshTopology = async (cluster: string, w: ClusterWatch, now: number) => {
    // Until one is known, at every pass: a primary cut off right after its cluster's first
    // topology must not find its candidates unknown.
    if (w.topology !== null && now - w.topologyReadAt < cfg.topologyEveryMs) return;
    w.topologyReadAt = now;
    try {
      w.topology = (await d.readTopology(cluster)) ?? w.topology;
      if (w.topologyFailing) d.log.info({ cluster }, "self-fence: topology read again");
      w.topologyFailing = false;
    } catch (err) {
      // Without a topology the candidates are unknown and nothing is ever fenced: say so.
      if (!w.topologyFailing) {
        d.log.warn(
          { cluster, err: (err as Error).message },
          "self-fence: cannot read the cluster's last topology (its candidates)",
        );
      }
      w.topologyFailing = true;
    }
  };

  const judge = async (s: AgentServerConfig, w: ClusterWatch, now: number) => {
    if (w.fenced.has(s.name)) return;
    let readOnly: boolean;
    try {
      readOnly = await d.readOnly(s);
    } catch {
      return; // Down or unreachable: it acknowledges nothing.
    }
    if (readOnly) return;
    const peers = w.topology ? candidatePeers(w.topology, s.name) : null;
    const checked = peers
      ? await Promise.all(
          peers.map(async (p) => ({
            name: p.name,
            reachable: await d.reachable(p, cfg.peerTimeoutMs),
          })),
        )
      : null;
    const lostForMs = now - (w.renewalSeenAt ?? now);
    let v = selfFenceVerdict(checked, lostForMs);
    const log = d.log.child({ cluster: s.cluster, server: s.name });
    if (v.fence && w.paused) {
      v = { fence: false, reason: `automation is paused (as last seen): ${v.reason}` };
    } else if (v.fence && (await d.natsMajority(cfg.peerTimeoutMs * 2))) {
      // Renewals stopped (the leading decider lost, say) but a NATS majority answers this
      // agent: Marina can reach it to STONITH before any promotion.
      v = { fence: false, reason: `a NATS majority still answers: ${v.reason}` };
    }
    if (!v.fence) {
      if (!w.kept.has(s.name))
        log.warn({ reason: v.reason }, "self-fence: coordination lost, writes kept");
      w.kept.add(s.name);
      return;
    }
    w.fenced.add(s.name);
    try {
      const r = await d.fence(s);
      if (r.fenced) d.onFenced?.(s);
      log.error(
        { reason: v.reason, unreachable: v.unreachable, ...r },
        r.fenced
          ? "self-fence: server fenced (read_only=1, client connections killed)"
          : "self-fence: server already read-only",
      );
    } catch (err) {
      // Tried again on the next pass.
      w.fenced.delete(s.name);
      log.error({ reason: v.reason, err: (err as Error).message }, "self-fence: fencing failed");
    }
  };

  const check = async () => {
    const now = d.now();
    for (const [cluster, w] of watches) {
      observe(cluster, w, now);
      if (!coordinationLost(w.renewalSeenAt, now, cfg.afterMs)) {
        await refreshTopology(cluster, w, now);
        continue;
      }
      await Promise.all(
        d.servers.filter((s) => s.cluster === cluster).map((s) => judge(s, w, now)),
      );
    }
  };

  const pass = () => {
    if (running) return;
    running = check()
      .catch((err) => d.log.error({ err }, "self-fence pass failed"))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    offerTopology(topology) {
      const w = watches.get(topology.cluster);
      if (w) w.topology = topology;
    },
    start() {
      if (timer || watches.size === 0) return;
      timer = setInterval(pass, cfg.checkEveryMs);
      pass();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    check,
    state() {
      const now = d.now();
      return {
        clusters: [...watches].map(([cluster, w]) => ({
          cluster,
          armed: w.renewalSeenAt !== null,
          lost: coordinationLost(w.renewalSeenAt, now, cfg.afterMs),
          servers: d.servers.filter((s) => s.cluster === cluster).map((s) => s.name),
          fenced: [...w.fenced],
        })),
      };
    },
  };
}
