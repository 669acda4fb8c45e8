#!/usr/bin/env node
// The sandbox demo: a 3-node semi-sync MariaDB cluster with NATS, and Marina's monitor,
// two executors, two deciders and a host agent per server watching it, each serving
// /metrics on a port of its own. Prints how to connect, everything Marina
// publishes, and live GTID positions, until Ctrl-C; then tears everything down.
//   --kill-primary-after S   kill -9 the primary after S seconds (watch the failover)
//   --duration S             stop by itself after S seconds
//   --quiet-positions        do not print GTID positions
//   --no-writer              do not run the test writer the dashboard shows
//   --hosts                  each mariadbd in its own network namespace (a host with its own
//                            address on a lab bridge) and a 3-node NATS cluster
//   --isolate-primary-after S  cut the primary's host off the network after S seconds
//                            (with --hosts), healed --heal-after S2 seconds later (default 20)
//   --containers             mariadbd and nats-server in containers (the lab's containers
//                            backend; scripts/sandbox.sh --containers sets up the engine);
//                            no host agents there (no rebuilds), no --hosts
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  connectionHelp,
  freePort,
  LAB_BACKEND_ENV,
  LabBackend,
  labBackendFromEnv,
  watchPositions,
} from "@marina/lab";
import { formatObserved } from "./format.js";
import { observe } from "./observer.js";
import { startStack } from "./stack.js";
import { dashboardUrl, startWriterStats } from "./writer-stats.js";

const { values } = parseArgs({
  options: {
    "kill-primary-after": { type: "string" },
    duration: { type: "string" },
    "quiet-positions": { type: "boolean", default: false },
    "no-writer": { type: "boolean", default: false },
    nodes: { type: "string", default: "3" },
    hosts: { type: "boolean", default: false },
    "nats-nodes": { type: "string" },
    "isolate-primary-after": { type: "string" },
    "heal-after": { type: "string", default: "20" },
    containers: { type: "boolean", default: false },
  },
});
const hosts = values.hosts;
if (values.containers) process.env[LAB_BACKEND_ENV] = LabBackend.Containers;
const containers = labBackendFromEnv() === LabBackend.Containers;
if (containers && hosts) {
  console.error("sandbox: --hosts (network namespaces) is not available on containers");
  process.exit(2);
}
const natsNodes = Number(values["nats-nodes"] ?? (hosts ? 3 : 1));
if (values["isolate-primary-after"] && !hosts) {
  console.error("sandbox: --isolate-primary-after needs --hosts");
  process.exit(2);
}

async function main() {
  const nodes = Number(values.nodes);
  console.log(
    `starting the sandbox: ${natsNodes > 1 ? `a ${natsNodes}-node NATS cluster` : "nats-server"}, ${nodes} mariadbd (semi-sync${hosts ? ", one network namespace each" : ""}${containers ? ", in containers" : ""}), monitor, 2 executors, 2 deciders${containers ? "" : `, ${nodes} agents`} …`,
  );
  const httpPort = await freePort();
  // The deciders' HTTP API, each on a free port, with one token for this run.
  const apiToken = randomBytes(18).toString("base64url");
  const stack = await startStack({
    // Secured as in production: every service under its own NATS identity, and a client
    // without credentials is refused.
    lab: { semiSync: true, nodes, hosts, natsNodes, natsAuth: "strict" },
    config: {
      http: { host: "127.0.0.1", port: httpPort },
      api: {
        host: "127.0.0.1",
        port: 0,
        tokens: [{ name: "sandbox", token: { value: apiToken } }],
      },
    },
    deciders: 2,
    executors: 2,
    // An agent controls a mariadbd on its own host: none for servers in containers.
    agents: !containers,
    monitorHttp: true,
    // Every service's /metrics and /healthz (the deciders' on their API's port).
    metricsHttp: true,
  });
  let stopping = false;
  const positions = values["quiet-positions"]
    ? undefined
    : watchPositions(stack.lab, (block) => console.log(block), { intervalMs: 2000 });
  const obs = observe(stack.nc, "main", (o) => console.log(formatObserved(o)));
  // A client writing through whatever happens, its counts on the dashboard.
  const writer = values["no-writer"]
    ? undefined
    : await startWriterStats(stack.lab, obs, stack.lab.nodes[0]!.name);
  const apiUrl = stack.deciders[0]?.app.apiUrl ?? "";
  const nats = stack.lab.natsUrls.join(",");
  const operator = stack.lab.natsUsers?.operator;
  const envFile = writeSandboxEnv(nats, operator);
  const exports = `export MARINA_NATS=${nats}${operator ? ` MARINA_NATS_USER=${operator.user} MARINA_NATS_PASSWORD=${operator.password}` : ""}`;
  console.log(connectionHelp(stack.lab.info()));
  console.log(
    [
      "Marina:",
      `  config: ${stack.configFile}`,
      `  monitor: ${stack.monitor?.httpUrl ?? "-"}/metrics  /healthz  /status`,
      `  dashboard: ${dashboardUrl(apiUrl, { token: apiToken, ...(writer ? { writerUrl: writer.url } : {}) })}`,
      "           (open it in a browser: live topology, operations, events, actions; docs/dashboard.md)",
      ...(writer
        ? [
            `  writer:  writes to the topology's writer as 'app', counts at ${writer.url} (acknowledged, lost)`,
          ]
        : []),
      `  API:     ${stack.deciders.map((d) => d.app.apiUrl ?? "-").join("  ")}   (/docs, docs/http-api.md)`,
      `           curl -H 'Authorization: Bearer ${apiToken}' ${apiUrl}/clusters/main/status`,
      `           curl ${apiUrl}/clusters/main/primary        # the proxy health check`,
      "  metrics: every service's Prometheus metrics (docs/metrics.md; /healthz beside each):",
      ...[...stack.metricsUrls()].map(([id, url]) => `           ${id.padEnd(12)} ${url}`),
      ...(operator
        ? [
            `  NATS:    secured; the operator identity is ${operator.user} / ${operator.password}`,
            "           (each service has its own; a client without credentials is refused)",
          ]
        : []),
      `  marina:  in another terminal, from this checkout (it reads ${envFile}):`,
      "           pnpm marina status",
      "           pnpm marina watch                # live, redrawn in place",
      "           pnpm marina switchover db2       # its phases as they happen",
      "           pnpm marina rebuild db3          # after a divergence, with a progress bar",
      "           pnpm marina events --follow",
      `           elsewhere: ${exports}`,
      containers
        ? `  fail:    podman kill --signal KILL ${stack.lab.node("db1").container}   # docker kill with Docker; or --kill-primary-after 5`
        : `  fail:    kill -9 $(pgrep -f '${stack.lab.dir}/db1/')   # or --kill-primary-after 5`,
      ...(containers
        ? [
            `  containers: ${stack.lab.nodes.map((n) => `${n.name}=${n.container} (replicas reach it as ${n.replicationHost}:${n.replicationPort})`).join("  ")}`,
            "           no host agents on containers: rebuilds are not available",
          ]
        : []),
      ...(hosts
        ? [
            `  hosts:   ${stack.lab.nodes.map((n) => `${n.name}=${n.host} (ip netns exec ${stack.lab.hostOf(n.name).ns})`).join("  ")}`,
            "  cut:     --isolate-primary-after 5 cuts the primary's host off (iptables in its namespace)",
          ]
        : []),
      "Ctrl-C stops everything.",
    ].join("\n"),
  );
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstopping (${why}) …`);
    await positions?.stop();
    await writer?.close().catch(() => {});
    obs.close();
    removeSandboxEnv(envFile);
    await stack.close();
    console.log("sandbox torn down.");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("Ctrl-C"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  if (values["kill-primary-after"]) {
    setTimeout(() => {
      const primary = obs.topologies().at(-1)?.primary ?? "db1";
      console.log(`\n*** kill -9 ${primary} ***\n`);
      void stack.lab.node(primary).kill9();
    }, Number(values["kill-primary-after"]) * 1000);
  }
  if (values["isolate-primary-after"]) {
    const network = stack.lab.network!;
    setTimeout(() => {
      const primary = obs.topologies().at(-1)?.primary ?? "db1";
      console.log(`\n*** isolating ${primary}'s host from every other host and from Marina ***\n`);
      void network.isolate(primary).then((cut) => {
        setTimeout(() => {
          console.log(`\n*** healing ${primary}'s network ***\n`);
          void cut.heal();
        }, Number(values["heal-after"]) * 1000);
      });
    }, Number(values["isolate-primary-after"]) * 1000);
  }
  if (values.duration)
    setTimeout(() => void stop("duration reached"), Number(values.duration) * 1000);
}

/**
 * Where `marina` (packages/cli/src/sandbox-env.ts) finds a running sandbox when no server
 * is named: its NATS and operator identity as the CLI's own variables, for this process.
 */
function writeSandboxEnv(nats: string, operator: { user: string; password: string } | undefined) {
  const file = join(tmpdir(), "marina-sandbox.env");
  const lines = [
    `# pnpm sandbox (pid ${process.pid}): read by marina when neither --nats nor MARINA_NATS is set`,
    `MARINA_SANDBOX_PID=${process.pid}`,
    `MARINA_NATS='${nats}'`,
    ...(operator
      ? [`MARINA_NATS_USER='${operator.user}'`, `MARINA_NATS_PASSWORD='${operator.password}'`]
      : []),
  ];
  rmSync(file, { force: true });
  writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600, flag: "wx" });
  return file;
}

/** Removes the file if it is still this sandbox's (another may have started since). */
function removeSandboxEnv(file: string) {
  try {
    if (readFileSync(file, "utf8").includes(`MARINA_SANDBOX_PID=${process.pid}\n`)) rmSync(file);
  } catch {
    // gone already
  }
}

main().catch((err: unknown) => {
  console.error(`sandbox: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
