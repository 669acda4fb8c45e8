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
  readonly readOnly: (server: AgentServerConfig) => Promise<boolean>;
  readonly fence: (server: AgentServerConfig) => Promise<LocalFence>;
  readonly now: () => number;
  readonly log: Logger;
}

interface ClusterWatch {
  lastView: LeaseView | null | undefined;
  /** When a renewal (a new lease value, unexpired) was last seen; null: never. */
  renewalSeenAt: number | null;
  topology: ClusterTopology | null;
  topologyReadAt: number;
  /** Servers handled (fenced, or kept and logged) in the current outage. */
  fenced: Set<string>;
  kept: Set<string>;
}

export interface SelfFence {
  start(): void;
  stop(): Promise<void>;
  /** One pass now (tests). */
  check(): Promise<void>;
}

const sameView = (a: LeaseView | null | undefined, b: LeaseView | null | undefined) =>
  a === b || (!!a && !!b && a.epoch === b.epoch && a.expiresAt === b.expiresAt);

export function selfFence(d: SelfFenceDeps): SelfFence {
  const cfg = d.config;
  const watches = new Map<string, ClusterWatch>();
  for (const s of d.servers) {
    if (!watches.has(s.cluster)) {
      watches.set(s.cluster, {
        lastView: undefined,
        renewalSeenAt: null,
        topology: null,
        topologyReadAt: Number.NEGATIVE_INFINITY,
        fenced: new Set(),
        kept: new Set(),
      });
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const observe = (cluster: string, w: ClusterWatch, now: number) => {
    const view = d.leaseCached(cluster);
    if (!sameView(view, w.lastView)) {
      w.lastView = view;
      // A value that changed and is not expired: a renewal a majority stored, just now.
      if (view && (view.expiresAt === null || view.expiresAt > now)) {
        if (w.renewalSeenAt !== null && coordinationLost(w.renewalSeenAt, now, cfg.afterMs)) {
          d.log.info({ cluster }, "self-fence: lease renewals seen again");
        }
        w.renewalSeenAt = now;
        w.fenced.clear();
        w.kept.clear();
      }
    }
  };

  const refreshTopology = async (cluster: string, w: ClusterWatch, now: number) => {
    // Until one is known, at every pass: a primary cut off right after its cluster's first
    // topology must not find its candidates unknown.
    if (w.topology !== null && now - w.topologyReadAt < cfg.topologyEveryMs) return;
    w.topologyReadAt = now;
    try {
      w.topology = (await d.readTopology(cluster)) ?? w.topology;
    } catch (err) {
      d.log.debug({ cluster, err: (err as Error).message }, "self-fence: topology not read");
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
    const v = selfFenceVerdict(checked, lostForMs);
    const log = d.log.child({ cluster: s.cluster, server: s.name });
    if (!v.fence) {
      if (!w.kept.has(s.name))
        log.warn({ reason: v.reason }, "self-fence: coordination lost, writes kept");
      w.kept.add(s.name);
      return;
    }
    w.fenced.add(s.name);
    try {
      const r = await d.fence(s);
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
  };
}
