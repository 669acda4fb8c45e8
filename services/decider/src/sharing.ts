// Several deciders share the clusters. Each round (every lease renewal interval) a decider
// announces itself and reads who else is alive (presence.ts); every cluster's preferred
// owner is the rendezvous-hash winner among the live deciders that configure it
// (assignment.ts). The preferred owner competes for the lease as before; any other decider
// competes only once the lease has been free for the grace period (lease.ts), so a cluster
// never stays leaderless when its preferred decider cannot take it. A leader that is not
// the preferred owner gives the lease up when handover.ts says so (cluster quiet, preferred
// decider alive for a stable period, backoff after a handover that did not stick).
import type { Logger } from "pino";
import { assignClusters, preferredOwner } from "./assignment.js";
import { type HandoverPolicy, handoverBackoffMs, handoverVerdict } from "./handover.js";
import type { Presence } from "./presence.js";

/** A lease as sharing drives it (see Lease). */
export interface SharedLease {
  readonly leader: boolean;
  step(): Promise<void>;
  release(): Promise<boolean>;
}

export interface SharedCluster {
  readonly lease: SharedLease;
  /** No operation running, primary not seen down (see ClusterRunner.quiet). */
  readonly runner: { quiet(): boolean };
}

export interface SharingDeps {
  readonly id: string;
  readonly presence: Presence;
  readonly clusters: ReadonlyMap<string, SharedCluster>;
  /** Round interval: the lease renewal interval. */
  readonly everyMs: number;
  readonly policy: HandoverPolicy;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly log: Logger;
}

interface HandoverRecord {
  at: number;
  to: string;
  failed: number;
}

export class ClusterSharing {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private failing = false;
  private readonly handovers = new Map<string, HandoverRecord>();
  private readonly deferred = new Map<string, string>();
  private lastLeads = "";

  constructor(private readonly d: SharingDeps) {}

  /** Starts the rounds; resolves once the first one is over (whether it could read or not). */
  start(): Promise<void> {
    this.kick();
    const first = this.running ?? Promise.resolve();
    this.timer = setInterval(() => this.kick(), this.d.everyMs);
    return first;
  }

  async close(withdraw: boolean): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    if (withdraw) {
      await this.d.presence.withdraw().catch((err: unknown) => {
        this.d.log.debug({ err }, "could not withdraw this decider's presence");
      });
    }
  }

  /** True when this decider is the cluster's preferred owner (false until deciders are known). */
  isPreferred(cluster: string): boolean {
    return this.d.presence.ready && preferredOwner(cluster, this.d.presence.alive()) === this.d.id;
  }

  /** The preferred owner of each configured cluster, as this decider sees it. */
  preferredOwners(): Map<string, string | undefined> {
    const alive = this.d.presence.ready ? this.d.presence.alive() : [];
    return assignClusters([...this.d.clusters.keys()], alive);
  }

  /** The clusters this decider leads now. */
  leading(): string[] {
    return [...this.d.clusters].filter(([, c]) => c.lease.leader).map(([name]) => name);
  }

  /** Called on every leadership change of a cluster (the lease's onChange). */
  onLeadership(cluster: string, leader: boolean): void {
    if (!leader) return;
    const h = this.handovers.get(cluster);
    if (this.isPreferred(cluster)) {
      if (h) h.failed = 0;
      return;
    }
    // Taken through the grace path soon after handing it over: the handover did not stick.
    if (h && this.d.now() - h.at < handoverBackoffMs(this.d.policy, h.failed)) {
      h.failed += 1;
      this.d.log.warn(
        { cluster, to: h.to, failedHandovers: h.failed },
        "took the cluster back: its preferred decider did not take the lease; backing off",
      );
      return;
    }
    const preferred = this.preferredOwners().get(cluster);
    this.d.log.info(
      { cluster, preferred },
      "took a lease left free past the grace period (not the preferred decider)",
    );
  }

  private kick(): void {
    if (this.closed || this.running) return;
    this.running = this.round()
      .catch((err: unknown) => this.d.log.error({ err }, "sharing round failed"))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async round(): Promise<void> {
    try {
      await this.d.presence.round();
      if (this.failing) this.d.log.info("deciders' presence readable again");
      this.failing = false;
    } catch (err) {
      // Logged once per streak; the view of the others ages out meanwhile.
      if (!this.failing) this.d.log.warn({ err }, "cannot announce or read deciders' presence");
      this.failing = true;
    }
    if (this.closed) return;
    const owners = this.preferredOwners();
    for (const [cluster, c] of this.d.clusters) {
      // The preferred owner tries at once rather than at its lease's next tick.
      if (owners.get(cluster) === this.d.id && !c.lease.leader) void c.lease.step();
    }
    for (const [cluster, c] of this.d.clusters) {
      if (this.closed) return;
      await this.maybeHandOver(cluster, c, owners.get(cluster));
    }
    this.logLeads(owners);
  }

  private async maybeHandOver(
    cluster: string,
    c: SharedCluster,
    preferred: string | undefined,
  ): Promise<void> {
    const now = this.d.now();
    const last = this.handovers.get(cluster);
    const verdict = handoverVerdict(
      {
        leading: c.lease.leader,
        self: this.d.id,
        preferred,
        preferredAliveMs: preferred === undefined ? 0 : this.d.presence.aliveForMs(preferred),
        quiet: c.runner.quiet(),
        sinceLastHandoverMs: last ? now - last.at : undefined,
        failedHandovers: last?.failed ?? 0,
      },
      this.d.policy,
    );
    if (!verdict.handOver) {
      // Say once why a due handover waits (an operation, the backoff).
      if ((verdict.why === "busy" || verdict.why === "backoff") && preferred !== undefined) {
        if (this.deferred.get(cluster) !== verdict.why) {
          this.d.log.info({ cluster, to: preferred, why: verdict.why }, "handover deferred");
        }
        this.deferred.set(cluster, verdict.why);
      } else {
        this.deferred.delete(cluster);
      }
      return;
    }
    this.deferred.delete(cluster);
    this.d.log.info(
      { cluster, to: verdict.to },
      "handing the cluster over to its preferred decider",
    );
    if (await c.lease.release()) {
      this.handovers.set(cluster, { at: now, to: verdict.to, failed: last?.failed ?? 0 });
    }
  }

  private logLeads(owners: Map<string, string | undefined>): void {
    const leads = this.leading().sort();
    const key = leads.join(",");
    if (key === this.lastLeads) return;
    this.lastLeads = key;
    const preferred = [...owners].filter(([, o]) => o === this.d.id).map(([c]) => c);
    this.d.log.info(
      { leads, preferred: preferred.sort(), deciders: this.d.presence.alive().map((d) => d.id) },
      "leading clusters",
    );
  }
}
