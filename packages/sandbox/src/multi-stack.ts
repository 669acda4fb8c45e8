// Many clusters watched by one Marina, in-process: N labs (the first runs the nats-server,
// the others use it), one config naming their clusters c1…cN, several deciders sharing the
// clusters, executors and monitors — for tests and benchmarks of several deciders and of
// scale. Deciders can be started, stopped (releasing) and killed (not releasing) by id.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MarinaConfig, MarinaConfig as MarinaConfigSchema } from "@marina/contracts";
import { type RunningDecider, type SharingOptions, startDecider } from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import { type Lab, type LabOptions, startLab } from "@marina/lab";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { configFromLab, connectAs, type LabConfigOptions } from "./lab-config.js";
import type { Decider } from "./stack.js";

/** Small [mysqld] settings for many servers on one machine (about 45 MB each idle). */
export const SMALL_MYSQLD = {
  innodb_buffer_pool_size: "8M",
  innodb_log_file_size: "8M",
  innodb_log_buffer_size: "1M",
  max_connections: 40,
  table_open_cache: 64,
} as const;

export interface MultiStackOptions {
  /** Number of clusters (labs), named c1…cN. */
  clusters: number;
  /** mariadbd per cluster; default 3. */
  nodesPerCluster?: number;
  /** Deciders started at once (`decider-1`…); default 2. */
  deciders?: number;
  /** Default 2. */
  executors?: number;
  /** Default 1. */
  monitors?: number;
  /**
   * "all" (default): every monitor probes every cluster; "shard": monitor i of m probes
   * clusters i, i+m, … (the monitor's `--clusters`).
   */
  monitorClusters?: "all" | "shard";
  /** Options of every lab (`nats` is decided here); [mysqld] defaults to SMALL_MYSQLD. */
  lab?: Omit<LabOptions, "nats" | "nodes">;
  /** Config of every cluster (its name is c1…cN). */
  config?: Omit<LabConfigOptions, "cluster" | "http">;
  leaseTtlMs?: number;
  renewEveryMs?: number;
  sharing?: SharingOptions;
  log?: Logger;
}

export interface MultiStack {
  /** c1…cN. */
  readonly clusters: readonly string[];
  /** The lab of each cluster. */
  readonly labs: ReadonlyMap<string, Lab>;
  lab(cluster: string): Lab;
  readonly config: MarinaConfig;
  /** The config as a file (for services run as processes). */
  readonly configFile: string;
  readonly natsUrl: string;
  /** A client connection for tests. */
  readonly nc: NatsConnection;
  /** The running deciders by id. */
  readonly deciders: ReadonlyMap<string, Decider>;
  readonly executors: readonly RunningExecutor[];
  readonly monitors: readonly MonitorHandle[];
  readonly log: Logger;
  /** Starts a decider (again) under `id`, with the stack's lease and sharing settings. */
  startDecider(id: string): Promise<Decider>;
  /** Stops a decider cleanly: it releases its leases and withdraws its presence. */
  stopDecider(id: string): Promise<void>;
  /**
   * Kills a decider: it stops acting and its connection closes, but it releases nothing
   * (leases and presence lapse after their TTL, as after a crash).
   */
  killDecider(id: string): Promise<void>;
  /** Which decider leads each cluster, as the deciders themselves see it. */
  leaders(): Map<string, string[]>;
  close(): Promise<void>;
}

export const clusterName = (i: number) => `c${i + 1}`;

/** Starts the labs: the first with NATS, the others on it. Closes what started on failure. */
async function startLabs(o: MultiStackOptions): Promise<Lab[]> {
  const labOptions: LabOptions = {
    shape: "primary-replicas",
    ...o.lab,
    nodes: o.nodesPerCluster ?? 3,
    mysqld: { ...SMALL_MYSQLD, ...o.lab?.mysqld },
  };
  const first = await startLab(labOptions);
  const rest = await Promise.allSettled(
    Array.from({ length: o.clusters - 1 }, () => startLab({ ...labOptions, nats: false })),
  );
  const labs = [first, ...rest.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))];
  const failed = rest.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(labs.map((l) => l.close()));
    throw failed.reason;
  }
  return labs;
}

/** One config naming every lab's cluster (c1…cN) on the first lab's NATS. */
function configOf(labs: readonly Lab[], natsUrl: string, o: MultiStackOptions): MarinaConfig {
  const configs = labs.map((lab, i) =>
    configFromLab(lab, {
      semiSync: o.lab?.semiSync ?? false,
      ...o.config,
      cluster: clusterName(i),
    }),
  );
  return MarinaConfigSchema.parse({
    nats: { ...configs[0]!.nats, servers: [natsUrl] },
    clusters: configs.flatMap((c) => c.clusters),
  });
}

/** The clusters monitor `i` of `m` probes. */
function monitorShare(clusters: readonly string[], i: number, m: number, how: "all" | "shard") {
  return how === "all" ? undefined : clusters.filter((_, j) => j % m === i);
}

export async function startClusters(o: MultiStackOptions): Promise<MultiStack> {
  if (!Number.isInteger(o.clusters) || o.clusters < 1) {
    throw new Error(`clusters must be a positive integer, not ${o.clusters}`);
  }
  const m = o.monitors ?? 1;
  if ((o.monitorClusters ?? "all") === "shard" && m > o.clusters) {
    throw new Error(`${m} monitors cannot shard ${o.clusters} clusters (one would have none)`);
  }
  const log = o.log ?? pino({ level: process.env.MARINA_LOG_LEVEL ?? "silent" });
  const labs = await startLabs(o);
  const deciders = new Map<string, Decider>();
  const executors: RunningExecutor[] = [];
  const monitors: MonitorHandle[] = [];
  let nc: NatsConnection | undefined;
  let closing: Promise<void> | undefined;

  const teardown = async () => {
    for (const d of deciders.values()) await d.app.close(false).catch(() => {});
    for (const d of deciders.values()) await d.nc.close().catch(() => {});
    deciders.clear();
    for (const e of executors) await e.close().catch(() => {});
    for (const m of monitors) await m.close().catch(() => {});
    await nc?.close().catch(() => {});
    await Promise.allSettled(labs.map((l) => l.close()));
  };

  try {
    const natsUrl = labs[0]!.nats!.url;
    const config = configOf(labs, natsUrl, o);
    const clusters = config.clusters.map((c) => c.name);
    const byCluster = new Map(clusters.map((c, i) => [c, labs[i]!]));
    const configFile = join(labs[0]!.dir, "marina-multi.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    nc = await connect({ servers: natsUrl });

    const takeDecider = (id: string): Decider => {
      const d = deciders.get(id);
      if (!d) throw new Error(`no running decider ${id}`);
      deciders.delete(id);
      return d;
    };
    const stack: MultiStack = {
      clusters,
      labs: byCluster,
      lab(cluster) {
        const lab = byCluster.get(cluster);
        if (!lab) throw new Error(`no cluster ${cluster} (have ${clusters.join(", ")})`);
        return lab;
      },
      config,
      configFile,
      natsUrl,
      nc,
      deciders,
      executors,
      monitors,
      log,
      async startDecider(id) {
        if (deciders.has(id)) throw new Error(`decider ${id} is already running`);
        const dnc = await connectAs(config, "decider", id);
        let app: RunningDecider;
        try {
          app = await startDecider({
            config,
            id,
            nc: dnc,
            log: log.child({ decider: id }),
            ...(o.leaseTtlMs ? { leaseTtlMs: o.leaseTtlMs } : {}),
            ...(o.renewEveryMs ? { renewEveryMs: o.renewEveryMs } : {}),
            ...(o.sharing ? { sharing: o.sharing } : {}),
          });
        } catch (err) {
          await dnc.close().catch(() => {});
          throw err;
        }
        const d = { id, app, nc: dnc };
        deciders.set(id, d);
        return d;
      },
      async stopDecider(id) {
        const d = takeDecider(id);
        await d.app.close(true);
        await d.nc.drain().catch(() => {});
      },
      async killDecider(id) {
        const d = takeDecider(id);
        await d.app.close(false);
        await d.nc.close().catch(() => {});
      },
      leaders() {
        const out = new Map(clusters.map((c) => [c, [] as string[]]));
        for (const d of deciders.values()) {
          for (const c of d.app.leading()) out.get(c)?.push(d.id);
        }
        return out;
      },
      close() {
        closing ??= teardown();
        return closing;
      },
    };

    for (let i = 1; i <= (o.executors ?? 2); i++) {
      const id = `executor-${i}`;
      executors.push(await startExecutor({ config, id, log: log.child({ executor: id }) }));
    }
    for (let i = 0; i < m; i++) {
      const share = monitorShare(clusters, i, m, o.monitorClusters ?? "all");
      const monitorId = `m${i + 1}`;
      const monitor = await startMonitor({
        config,
        monitorId,
        log: log.child({ svc: "monitor", monitor: monitorId }),
        http: false,
        ...(share ? { clusters: share } : {}),
      });
      monitors.push(monitor);
      await monitor.ready;
    }
    for (let i = 1; i <= (o.deciders ?? 2); i++) await stack.startDecider(`decider-${i}`);
    return stack;
  } catch (err) {
    await teardown();
    throw err;
  }
}
