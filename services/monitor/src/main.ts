#!/usr/bin/env node
// marina-monitor: node services/monitor/dist/main.js --config marina.yaml [--monitor-id m1]
// Reads the config, starts the monitor (see start.ts), stops cleanly on SIGINT/SIGTERM.
// A bad config or argument is one line on stderr and exit code 2.
import { hostname } from "node:os";
import { loadConfigFile, type MarinaConfig, MarinaError } from "@marina/contracts";
import { defaultMonitorId, parseArgs } from "./args.js";
import { createLogger } from "./log.js";
import { startMonitor } from "./start.js";

function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`marina-monitor: ${msg.split("\n")[0]}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  let config: MarinaConfig;
  try {
    args = parseArgs(process.argv.slice(2));
    config = loadConfigFile(args.config);
  } catch (err) {
    fail(err);
  }
  const monitorId = args.monitorId ?? process.env.MARINA_MONITOR_ID ?? defaultMonitorId(hostname());
  const log = createLogger().child({ monitor: monitorId });
  const http =
    args.httpPort !== undefined
      ? { host: config.http?.host ?? "127.0.0.1", port: args.httpPort }
      : undefined;

  let handle: Awaited<ReturnType<typeof startMonitor>>;
  try {
    handle = await startMonitor({
      config,
      monitorId,
      log,
      ...(http ? { http } : {}),
      ...(args.nats ? { natsUrl: args.nats } : {}),
    });
  } catch (err) {
    if (err instanceof MarinaError) fail(err);
    log.fatal({ err }, "cannot start");
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    // A second signal, or a close that hangs, still ends the process.
    setTimeout(() => process.exit(1), 10_000).unref();
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  handle.ready.catch((err: unknown) => {
    if (!stopping) {
      log.fatal({ err }, "monitor failed to start");
      process.exit(1);
    }
  });
}

void main();
