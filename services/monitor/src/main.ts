#!/usr/bin/env node
// marina-monitor: node services/monitor/dist/main.js --config marina.yaml [--id m1]
//   [--clusters c1,c2]
// Reads the config, starts the monitor (see start.ts), stops cleanly on SIGINT/SIGTERM.
// A bad config or argument is one line on stderr and exit code 2 (@marina/runtime).
import { hostname } from "node:os";
import { loadConfigFile } from "@marina/contracts";
import {
  createLogger,
  defaultId,
  EXIT_CODES,
  handleShutdown,
  natsServers,
  parseArgs,
  runMain,
} from "@marina/runtime";
import { MONITOR_ARGS } from "./args.js";
import { parseClusterList, selectClusters } from "./clusters.js";
import { startMonitor } from "./start.js";

void runMain(MONITOR_ARGS.program, async () => {
  const args = parseArgs(MONITOR_ARGS, process.argv.slice(2));
  // Before anything starts: an unknown cluster name is a bad config (exit code 2).
  const clusters = args.clusters === undefined ? undefined : parseClusterList(args.clusters);
  const config = selectClusters(loadConfigFile(args.config), clusters);
  const monitorId =
    args.id ??
    args["monitor-id"] ??
    process.env.MARINA_MONITOR_ID ??
    defaultId(hostname(), "monitor");
  const log = createLogger({ service: "monitor", bindings: { monitor: monitorId } });
  const http =
    args["http-port"] !== undefined
      ? { host: config.http?.host ?? "127.0.0.1", port: args["http-port"] }
      : undefined;

  log.info({ clusters: config.clusters.map((c) => c.name) }, "monitoring clusters");
  const handle = await startMonitor({
    config,
    monitorId,
    log,
    defaultMetrics: true,
    ...(http ? { http } : {}),
    ...(args.nats ? { natsUrl: natsServers(args.nats, config.nats.servers) } : {}),
  });
  const shutdown = handleShutdown({ log });
  shutdown.closeWith(() => handle.close());
  handle.ready.catch((err: unknown) => {
    if (!shutdown.stopping) {
      log.fatal({ err }, "monitor failed to start");
      process.exit(EXIT_CODES.failed);
    }
  });
});
