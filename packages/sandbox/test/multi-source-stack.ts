// Marina around a multi-source lab (db1 domain 1 and db2 domain 2, both primaries, db3
// replicating both over connections 'p1' and 'p2'), configured as TWO clusters that share
// the replica: cluster p1 = {db1, db3}, cluster p2 = {db2, db3}. Each primary with its
// replicas is one failover unit; a server that is a source of nothing in a cluster's config
// (db2 for p1) is invisible to that cluster, so db3's other connection is left alone.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ClusterConfig,
  type FailoverSettings,
  type MarinaConfig,
  MarinaConfig as MarinaConfigSchema,
} from "@marina/contracts";
import { buildApp as buildDecider, type DeciderApp } from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import type { NatsConnection } from "@nats-io/transport-node";
import { configFromLab, connectAs } from "../src/lab-config.js";
import type { Stack } from "../src/stack.js";

export interface SplitClusters {
  config: MarinaConfig;
  configFile: string;
  close(): Promise<void>;
}

export function splitConfig(
  stack: Stack,
  clusters: Record<string, { servers: string[]; failover?: Partial<FailoverSettings> }>,
): MarinaConfig {
  const base = configFromLab(stack.lab).clusters[0]!;
  const out: ClusterConfig[] = Object.entries(clusters).map(([name, c]) => ({
    ...base,
    name,
    servers: base.servers.filter((s) => c.servers.includes(s.name)),
    failover: { ...base.failover, ...c.failover },
  }));
  return MarinaConfigSchema.parse({ nats: stack.config.nats, clusters: out });
}

/** Starts monitor, executors and a decider for `config` around the stack's lab. */
export async function startServices(stack: Stack, config: MarinaConfig): Promise<SplitClusters> {
  const configFile = join(stack.lab.dir, "marina-split.json");
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const log = stack.log;
  const executors: RunningExecutor[] = [];
  let decider: { app: DeciderApp; nc: NatsConnection } | undefined;
  let monitor: MonitorHandle | undefined;
  const close = async () => {
    await decider?.app.close(false).catch(() => {});
    await decider?.nc.close().catch(() => {});
    for (const e of executors) await e.close().catch(() => {});
    await monitor?.close().catch(() => {});
  };
  try {
    for (const id of ["executor-1", "executor-2"]) {
      executors.push(await startExecutor({ config, id, log: log.child({ executor: id }) }));
    }
    const nc = await connectAs(config, "decider", "decider-1");
    decider = {
      nc,
      app: await buildDecider({ config, id: "decider-1", nc, log: log.child({ decider: "d1" }) }),
    };
    monitor = await startMonitor({
      config,
      monitorId: "m1",
      log: log.child({ svc: "monitor" }),
      http: false,
    });
    await monitor.ready;
  } catch (err) {
    await close();
    throw err;
  }
  return { config, configFile, close };
}
