// The decider as a testable unit: per configured cluster a lease and a loop (ClusterRunner)
// over the bus and KV it is given. No I/O happens while building; start() starts the
// subscriptions, ticks and lease attempts. Connections are made in start.ts.
// Given a presence bucket, several deciders share the clusters (sharing.ts): each competes
// only for the clusters it is the preferred owner of, and for leases left free too long.
import { randomUUID } from "node:crypto";
import { type MarinaConfig, MarinaError } from "@marina/contracts";
import type { Logger } from "pino";
import { backupHandler } from "./backup/command.js";
import type { Bus } from "./bus.js";
import type { Clock } from "./clock.js";
import { ClusterRunner, type RecordedInput, type RunnerDeps } from "./cluster-runner.js";
import { checkFormat, type Formats, formatsOf, stateWriteFormat } from "./formats.js";
import { parseReply } from "./http/context.js";
import type { CommandSubmitter } from "./http/deps.js";
import type { DeciderBuckets } from "./kv.js";
import { Lease } from "./lease.js";
import { DeciderMetrics } from "./metrics.js";
import { Presence } from "./presence.js";
import { provisionHandler } from "./provision/command.js";
import type { ClusterView } from "./provision/context.js";
import { ClusterSharing } from "./sharing.js";
import { StateStore } from "./store.js";

/** A dead leader is replaced after about this long. */
export const DEFAULT_LEASE_TTL_MS = 3000;
export const DEFAULT_TICK_MS = 200;
/** A leader hands a cluster to its preferred decider once that one was alive this long. */
export const DEFAULT_HANDOVER_STABLE_MS = 30_000;
/** Least time between two handovers of one cluster by one decider (doubled per failed one). */
export const DEFAULT_HANDOVER_BACKOFF_MS = 30_000;
/** Upper bound of the doubled handover backoff. */
export const MAX_HANDOVER_BACKOFF_MS = 600_000;

/** How several deciders share the clusters; every field has a default. */
export interface SharingOptions {
  /**
   * A decider that is not a cluster's preferred owner competes for its lease once the lease
   * has been free this long (default: the lease TTL).
   */
  readonly freeGraceMs?: number;
  /** DEFAULT_HANDOVER_STABLE_MS. */
  readonly handoverStableMs?: number;
  /** DEFAULT_HANDOVER_BACKOFF_MS. */
  readonly handoverBackoffMs?: number;
}

export interface AppDeps {
  readonly bus: Bus;
  /**
   * The lease and presence buckets must have been created with a TTL of `leaseTtlMs`.
   * Without a presence bucket this decider competes for every cluster (no sharing).
   */
  readonly kv: DeciderBuckets;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: MarinaConfig;
  /** This decider's name, unique among deciders (e.g. `decider-a`). */
  readonly id: string;
  readonly leaseTtlMs?: number;
  readonly renewEveryMs?: number;
  readonly tickMs?: number;
  readonly sharing?: SharingOptions;
  /** Tunables of the decision core (step timeouts, retries, binlog-stable wait). */
  readonly coreOptions?: RunnerDeps["coreOptions"];
  /** Record every decider input (for replay fixtures); see RecordedInput. */
  readonly record?: (cluster: string, line: RecordedInput) => void;
  /**
   * The newest state format written (`--state-format`; default: the newest every live
   * decider reads): for a rollback to a release that reads only that format.
   */
  readonly stateWriteFormat?: number;
  /**
   * The newest format of each persisted record this decider reads and writes (default:
   * this release's, formats.ts). Lower ones make it behave, for what it persists and
   * announces, like an older release: tests of mixed releases.
   */
  readonly formats?: Partial<Formats>;
  /** Node's process metrics on /metrics too (the decider's own process: main.ts). */
  readonly defaultMetrics?: boolean;
}

/**
 * `command` (CommandSubmitter): a command as if it came on `cmd.<verb>` (the HTTP API) —
 * decided here when leading, else forwarded to the leader; rejects with UNKNOWN_CLUSTER, or
 * TIMEOUT when no reply came within `timeoutMs`.
 */
export interface DeciderApp extends CommandSubmitter {
  readonly runners: Map<string, ClusterRunner>;
  readonly leases: Map<string, Lease>;
  /** Present when the deciders share the clusters (a presence bucket was given). */
  readonly sharing: ClusterSharing | undefined;
  /** The clusters this decider leads now. */
  leading(): string[];
  /** What /metrics serves (docs/metrics.md). */
  readonly metrics: DeciderMetrics;
  /** Subscribes and starts competing for the leases. */
  start(): void;
  /** Stops acting; releases the leases so another decider takes over at once. */
  close(release?: boolean): Promise<void>;
}

export function buildApp(deps: AppDeps): DeciderApp {
  const ttl = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const renewEveryMs = deps.renewEveryMs ?? Math.max(100, Math.floor(ttl / 4));
  const runners = new Map<string, ClusterRunner>();
  const leases = new Map<string, Lease>();
  const presenceBucket = deps.kv.presence;
  const clusterNames = deps.config.clusters.map((c) => c.name);
  let sharing: ClusterSharing | undefined;
  let presence: Presence | undefined;
  let closed = false;
  const formats = formatsOf(deps.formats);
  const metrics = new DeciderMetrics(
    () => [...runners].map(([cluster, r]) => ({ cluster, acting: r.actingLeader, state: r.state })),
    { defaultMetrics: deps.defaultMetrics ?? false },
  );
  if (deps.stateWriteFormat !== undefined) checkFormat("state", deps.stateWriteFormat);
  // One lock per server for every operation beside the cores.
  const busy = new Map<string, string>();
  const besideDeps = (svc: string) => ({
    busy,
    bus: deps.bus,
    config: deps.config,
    source: deps.id,
    log: deps.log.child({ svc }),
    now: () => deps.clock.now(),
    cluster: (name: string) => clusterView(runners.get(name), leases.get(name)),
  });
  const provision = provisionHandler(besideDeps("provision"));
  const backups = backupHandler(besideDeps("backup"));
  for (const config of deps.config.clusters) {
    const cluster = config.name;
    const log = deps.log.child({ cluster });
    // Per cluster: a paused one needs a newer format than the others (stateFormatNeeded).
    const writeFormat = stateFormatWriter(deps, formats, () => presence, log);
    let runner: ClusterRunner | undefined;
    const lease = new Lease(deps.kv.leases, deps.kv.state, {
      cluster,
      holder: deps.id,
      ttlMs: ttl,
      renewEveryMs,
      now: () => deps.clock.monotonic(),
      onChange: (leader, epoch) => {
        sharing?.onLeadership(cluster, leader);
        void runner?.onLeadership(leader, epoch);
      },
      onError: (err) => log.debug({ err }, "lease attempt failed"),
      mayLead: () => runner?.mayLead() ?? true,
      paused: () => runner?.paused ?? false,
      format: formats.lease,
      ...(presenceBucket
        ? {
            preferred: () => sharing?.isPreferred(cluster) ?? true,
            freeGraceMs: deps.sharing?.freeGraceMs ?? ttl,
          }
        : {}),
    });
    const record = deps.record;
    runner = new ClusterRunner({
      bus: deps.bus,
      config,
      lease,
      store: new StateStore(deps.kv.state, cluster, {
        reads: formats.state,
        writeFormat,
        writer: () => ({ decider: deps.id, epoch: lease.epoch }),
      }),
      id: deps.id,
      log,
      now: () => deps.clock.now(),
      tickMs: deps.tickMs ?? DEFAULT_TICK_MS,
      ...(deps.coreOptions ? { coreOptions: deps.coreOptions } : {}),
      ...(record ? { record: (line: RecordedInput) => record(cluster, line) } : {}),
      metrics,
      beside: (c) =>
        c.verb === "provision-replica" ? provision(cluster, c.payload) : backups(cluster, c),
    });
    runners.set(cluster, runner);
    leases.set(cluster, lease);
  }
  if (presenceBucket) {
    const backoffMs = deps.sharing?.handoverBackoffMs ?? DEFAULT_HANDOVER_BACKOFF_MS;
    presence = new Presence(presenceBucket, {
      id: deps.id,
      incarnation: randomUUID(),
      clusters: clusterNames,
      ttlMs: ttl,
      now: () => deps.clock.monotonic(),
      leads: () => sharing?.leading() ?? [],
      declined: () => clusterNames.filter((c) => runners.get(c)?.refusesState),
      formats,
      onInvalid: (key) => deps.log.warn({ key }, "invalid decider presence record ignored"),
    });
    sharing = new ClusterSharing({
      id: deps.id,
      presence,
      clusters: new Map(
        clusterNames.map((c) => [c, { lease: leases.get(c)!, runner: runners.get(c)! }]),
      ),
      everyMs: renewEveryMs,
      policy: {
        stableMs: deps.sharing?.handoverStableMs ?? DEFAULT_HANDOVER_STABLE_MS,
        backoffMs,
        maxBackoffMs: Math.max(backoffMs, MAX_HANDOVER_BACKOFF_MS),
      },
      now: () => deps.clock.monotonic(),
      log: deps.log,
    });
  }
  return {
    runners,
    leases,
    sharing,
    metrics,
    leading: () => clusterNames.filter((c) => leases.get(c)?.leader),
    async command(cluster, verb, body, timeoutMs) {
      const runner = runners.get(cluster);
      if (!runner) throw new MarinaError("UNKNOWN_CLUSTER", `${cluster} is not configured here`);
      return parseReply(await runner.submit(verb, body, timeoutMs));
    },
    start() {
      for (const runner of runners.values()) runner.start();
      const startLeases = () => {
        if (!closed) for (const l of leases.values()) l.start();
      };
      // Sharing: the leases start competing once the live deciders were read once.
      if (sharing) void sharing.start().then(startLeases);
      else startLeases();
    },
    async close(release = true) {
      closed = true;
      await sharing?.close(release);
      for (const l of leases.values()) await l.stop(release);
      for (const r of runners.values()) await r.close();
    },
  };
}

/** A cluster as provision-replica sees it (provision/context.ts). */
function clusterView(
  runner: ClusterRunner | undefined,
  lease: Lease | undefined,
): ClusterView | undefined {
  if (!runner || !lease) return undefined;
  return {
    acting: () => runner.actingLeader,
    epoch: () => lease.epoch,
    primary: () => runner.state.primary,
    operation: () => runner.state.operation?.opId ?? null,
    maintenance: (server) => runner.state.maintenance[server]?.reason ?? null,
    submit: async (verb, body) => parseReply(await runner.submit(verb, body, 10_000)),
  };
}

/**
 * The state format the stores write now (stateWriteFormat over the live peers' formats),
 * logged when it changes: an older decider came or the last one left, or the cluster was
 * paused or resumed (a paused state needs format 3).
 */
function stateFormatWriter(
  deps: AppDeps,
  formats: Formats,
  presence: () => Presence | undefined,
  log: Logger,
): (needs: number) => number {
  let last: number | undefined;
  return (needs) => {
    const p = presence();
    const peers = p ? (p.ready ? p.peerFormats().map((f) => f.state) : undefined) : [];
    const format = stateWriteFormat({
      reads: formats.state,
      cap: deps.stateWriteFormat,
      peers,
      needs,
    });
    if (format !== last) {
      log.info(
        { stateFormat: format, was: last, reads: formats.state, peers, needs },
        "decider state written in this format",
      );
    }
    last = format;
    return format;
  };
}
