// pnpm bench scale [--clusters 10] [--trials 5] [--steady-s 20] [--interval-ms 500]
//
// Marina watching many clusters: --clusters labs of 3 real mariadbd (small buffers), one
// monitor, two deciders and two executors, each its own OS process (so CPU and memory are
// theirs alone), on one nats-server.
//   steady    for --steady-s seconds, nothing happening: monitor CPU per probe (CPU time ÷
//             health samples published), monitor and decider CPU % and RSS, and the message
//             rate per subject kind (health, observed, topology, events, op, exec, agent)
//   failover  kill -9 of one cluster's primary → the first topology naming a new writer,
//             with every cluster watched ("all") and, interleaved in the same run, with
//             only that cluster in the services' config ("one"): the ratio says what
//             watching the other clusters costs a failover.
// Failover limits (cooldown, per-window count) are lifted in this bench's config so that
// back-to-back trials are possible; detection and decision settings stay at defaults.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { MarinaConfig } from "@marina/contracts";
import {
  type Lab,
  replicaStatus,
  runServiceMain,
  type ServiceRun,
  sleep,
  stopServiceRun,
  waitFor,
} from "@marina/lab";
import { stat, writeBenchReport } from "@marina/lab/bench";
import { observe, SMALL_MYSQLD, serviceMain, startClusters } from "@marina/sandbox";
import type { NatsConnection } from "@nats-io/transport-node";
import { processUsage, type Usage, usageBetween } from "./lib/proc-usage.js";
import { clusterStatus } from "./lib/status.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "10" },
    trials: { type: "string", default: "5" },
    "steady-s": { type: "string", default: "20" },
    "interval-ms": { type: "string", default: "500" },
  },
});
const CLUSTERS = Number(values.clusters);
const TRIALS = Number(values.trials);
const STEADY_MS = Number(values["steady-s"]) * 1000;
const INTERVAL_MS = Number(values["interval-ms"]);
const STEP_TIMEOUT_MS = 60_000;
/** Deciders share the clusters after a peer was seen alive this long (default 30 s). */
const HANDOVER_STABLE_MS = 3_000;

/** The same config reduced to one cluster: what "one watched" runs with. */
function onlyCluster(config: MarinaConfig, name: string): MarinaConfig {
  return { ...config, clusters: config.clusters.filter((c) => c.name === name) };
}

interface Services {
  monitor: ServiceRun;
  deciders: ServiceRun[];
  executors: ServiceRun[];
  all(): ServiceRun[];
}

function startServices(configFile: string, tag: string): Services {
  const run = (pkg: Parameters<typeof serviceMain>[0], id: string) =>
    runServiceMain(
      serviceMain(pkg),
      [
        "--config",
        configFile,
        "--id",
        `${id}-${tag}`,
        ...(pkg === "@marina/decider" ? ["--handover-stable-ms", String(HANDOVER_STABLE_MS)] : []),
      ],
      { LOG_LEVEL: "warn" },
    );
  const monitor = run("@marina/monitor", "m1");
  const executors = [run("@marina/executor", "e1"), run("@marina/executor", "e2")];
  const deciders = [run("@marina/decider", "d1"), run("@marina/decider", "d2")];
  return { monitor, deciders, executors, all: () => [monitor, ...deciders, ...executors] };
}

async function stopServices(s: Services | undefined): Promise<void> {
  if (!s) return;
  await Promise.all(s.all().map((r) => stopServiceRun(r)));
}

/** Counts messages and bytes per subject kind on marina.v1.> while `counting` is on. */
function countMessages(nc: NatsConnection) {
  const counts = new Map<string, number>();
  const bytes = new Map<string, number>();
  let on = false;
  const sub = nc.subscribe("marina.v1.>", {
    callback: (_e, m) => {
      if (!on) return;
      const t = m.subject.split(".");
      const kind = t[2] === "agent" ? "agent" : (t[3] ?? "other");
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      bytes.set(kind, (bytes.get(kind) ?? 0) + m.data.length);
    },
  });
  return {
    start() {
      counts.clear();
      bytes.clear();
      on = true;
    },
    stop(): { counts: Map<string, number>; bytes: Map<string, number> } {
      on = false;
      return { counts: new Map(counts), bytes: new Map(bytes) };
    },
    close: () => sub.unsubscribe(),
  };
}

/** The writer Marina reports now (status command), retried until there is one. */
async function currentWriter(nc: NatsConnection, cluster: string): Promise<string> {
  return waitFor(
    async () => {
      const d = await clusterStatus(nc, cluster);
      return d?.writer && !d.operation ? d.writer.server : undefined;
    },
    { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250, message: `${cluster}: status names a primary` },
  );
}

/** kill -9 of the cluster's primary; ms until a topology names a new writer. */
async function failoverOnce(nc: NatsConnection, lab: Lab, cluster: string): Promise<number> {
  const primary = await currentWriter(nc, cluster);
  const obs = observe(nc, cluster);
  try {
    const t0 = performance.now();
    await lab.node(primary).kill9();
    const t = await obs.waitFor(
      (o) =>
        o.kind === "topology" && o.topology.writer !== null && o.topology.writer.server !== primary,
      STEP_TIMEOUT_MS,
      `${cluster}: new writer after killing ${primary}`,
    );
    const ms = t.at - t0;
    // Bring the old primary back and let Marina rejoin it before the next trial.
    await lab.node(primary).start();
    await waitFor(
      async () => {
        const s = await replicaStatus(lab.node(primary)).catch(() => []);
        return s.length > 0 && s.every((c) => c.ioRunning === "Yes" && c.sqlRunning === "Yes");
      },
      { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250, message: `${cluster}: ${primary} rejoined` },
    );
    await currentWriter(nc, cluster);
    return ms;
  } finally {
    obs.close();
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(`starting ${CLUSTERS} labs of 3 mariadbd …`);
  // The labs and one config for all their clusters; Marina's services run as processes.
  const stack = await startClusters({
    clusters: CLUSTERS,
    deciders: 0,
    executors: 0,
    monitors: 0,
    config: {
      monitor: { intervalMs: INTERVAL_MS },
      failover: { cooldownMs: 0, maxPerWindow: 1000 },
    },
  });
  let services: Services | undefined;
  try {
    const { nc, configFile: allFile } = stack;
    console.log(`labs up in ${Math.round(performance.now() - t0)} ms`);
    const names = stack.clusters;

    // Steady state, every cluster watched.
    services = startServices(allFile, "all");
    await Promise.all(names.map((c) => currentWriter(nc, c)));
    // The first decider up takes every cluster; the other gets its share by handover once
    // it has been seen alive for HANDOVER_STABLE_MS.
    await sleep(HANDOVER_STABLE_MS + 5_000);
    const leaders = await Promise.all(
      names.map(async (c) => (await clusterStatus(nc, c))?.decider),
    );
    console.log(`leaders: ${names.map((c, i) => `${c}=${leaders[i]}`).join(" ")}`);
    const counter = countMessages(nc);
    const procs = [services.monitor, ...services.deciders];
    const before = procs.map((p) => processUsage(p.child.pid!));
    counter.start();
    const s0 = performance.now();
    await sleep(STEADY_MS);
    const { counts, bytes } = counter.stop();
    const windowS = (performance.now() - s0) / 1000;
    const after = procs.map((p) => processUsage(p.child.pid!));
    counter.close();
    const usage: Usage[] = procs.map((_, i) => usageBetween(before[i]!, after[i]!));
    const [mon, d1, d2] = usage as [Usage, Usage, Usage];
    const healthSamples = counts.get("health") ?? 0;
    const rates = Object.fromEntries([...counts].map(([k, n]) => [k, n / windowS]));
    const byteRates = Object.fromEntries([...bytes].map(([k, n]) => [k, n / windowS / 1024]));
    const steady = {
      windowS,
      servers: CLUSTERS * 3,
      healthSamples,
      monitorCpuMsPerProbe: healthSamples > 0 ? mon.cpuMs / healthSamples : Number.NaN,
      monitorCpuPct: (mon.cpuMs / (windowS * 1000)) * 100,
      monitorRssMiB: mon.rssMiB,
      deciderCpuPct: [d1, d2].map((d) => (d.cpuMs / (windowS * 1000)) * 100),
      deciderRssMiB: [d1, d2].map((d) => d.rssMiB),
      ratesPerS: rates,
      kibPerS: byteRates,
    };
    console.log(JSON.stringify(steady, null, 2));

    // Failovers: "all" and "one" interleaved, on the same cluster per pair.
    const allMs: number[] = [];
    const oneMs: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const name = names[i % names.length]!;
      const lab = stack.lab(name);
      allMs.push(await failoverOnce(nc, lab, name));
      console.log(`trial ${i + 1} all: ${name} ${Math.round(allMs.at(-1)!)} ms`);
      await stopServices(services);
      const oneFile = join(lab.dir, `scale-one-${name}.json`);
      writeFileSync(oneFile, JSON.stringify(onlyCluster(stack.config, name)));
      services = startServices(oneFile, `one${i}`);
      oneMs.push(await failoverOnce(nc, lab, name));
      console.log(`trial ${i + 1} one: ${name} ${Math.round(oneMs.at(-1)!)} ms`);
      await stopServices(services);
      services = startServices(allFile, `all${i}`);
      await Promise.all(names.map((c) => currentWriter(nc, c)));
    }

    const all = stat(allMs, "ms");
    const one = stat(oneMs, "ms");
    writeBenchReport({
      name: "scale",
      settings: {
        clusters: CLUSTERS,
        serversPerCluster: 3,
        monitors: 1,
        deciders: 2,
        executors: 2,
        probeIntervalMs: INTERVAL_MS,
        steadyWindowS: Math.round(windowS),
        failover: { cooldownMs: 0, maxPerWindow: 1000 },
        handoverStableMs: HANDOVER_STABLE_MS,
        mysqld: SMALL_MYSQLD,
      },
      trials: TRIALS,
      metrics: {
        "steady.monitor_cpu_per_probe_ms": stat([steady.monitorCpuMsPerProbe], "ms"),
        "steady.monitor_cpu_pct": stat([steady.monitorCpuPct], "%"),
        "steady.monitor_rss_mib": stat([steady.monitorRssMiB], "MiB"),
        "steady.decider_cpu_pct": stat(steady.deciderCpuPct, "%"),
        "steady.decider_rss_mib": stat(steady.deciderRssMiB, "MiB"),
        ...Object.fromEntries(
          Object.entries(rates).map(([k, r]) => [`steady.${k}_msgs_per_s`, stat([r], "msg/s")]),
        ),
        ...Object.fromEntries(
          Object.entries(byteRates).map(([k, r]) => [`steady.${k}_kib_per_s`, stat([r], "KiB/s")]),
        ),
        "failover_all_watched.total_ms": all,
        "failover_one_watched.total_ms": one,
      },
      ratios: { all_watched_vs_one_watched: Math.round((all.median / one.median) * 100) / 100 },
    });
  } finally {
    await stopServices(services);
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench scale: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
