#!/usr/bin/env node
// marina-monitor: node services/monitor/dist/main.js --config marina.yaml [--id m1]
// Reads the config, starts the monitor (see start.ts), stops cleanly on SIGINT/SIGTERM.
// A bad config or argument is one line on stderr and exit code 2 (@marina/runtime).
import { hostname } from "node:os";
import { loadConfigFile } from "@marina/contracts";
import {
  createLogger,
  defaultId,
  EXIT_CODES,
  handleShutdown,
  parseArgs,
  runMain,
} from "@marina/runtime";
import { MONITOR_ARGS } from "./args.js";
import { startMonitor } from "./start.js";

void runMain(MONITOR_ARGS.program, async () => {
  const args = parseArgs(MONITOR_ARGS, process.argv.slice(2));
  const config = loadConfigFile(args.config);
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

  const handle = await startMonitor({
    config,
    monitorId,
    log,
    ...(http ? { http } : {}),
    ...(args.nats ? { natsUrl: args.nats } : {}),
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
