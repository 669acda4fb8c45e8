#!/usr/bin/env node
// marina-executor --config marina.yaml [--id e1] [--http-port P]: serves exec requests until SIGTERM/SIGINT.
// A bad config or argument is one line on stderr and exit code 2 (@marina/runtime).
import { hostname } from "node:os";
import { loadConfigFile } from "@marina/contracts";
import {
  createLogger,
  defaultId,
  handleShutdown,
  natsServers,
  parseArgs,
  runMain,
} from "@marina/runtime";
import { EXECUTOR_ARGS } from "./args.js";
import { startExecutor } from "./start.js";

void runMain(EXECUTOR_ARGS.program, async () => {
  const args = parseArgs(EXECUTOR_ARGS, process.argv.slice(2));
  const config = loadConfigFile(args.config);
  const id = args.id ?? defaultId(`${hostname()}-${process.pid}`, "executor");
  const log = createLogger({ service: "executor" });
  // A signal while NATS is still unreachable ends the process at once (nothing to close).
  const shutdown = handleShutdown({ log });
  const options = {
    ...(args["connect-timeout-ms"] !== undefined
      ? { connectTimeoutMs: args["connect-timeout-ms"] }
      : {}),
    ...(args["socket-timeout-ms"] !== undefined
      ? { socketTimeoutMs: args["socket-timeout-ms"] }
      : {}),
  };
  const http =
    args["http-port"] !== undefined
      ? { host: config.executorHttp?.host ?? "127.0.0.1", port: args["http-port"] }
      : undefined;
  const executor = await startExecutor({
    config,
    id,
    log,
    options,
    defaultMetrics: true,
    ...(http ? { http } : {}),
    signal: shutdown.signal,
    ...(args.nats ? { natsUrl: natsServers(args.nats, config.nats.servers) } : {}),
  });
  shutdown.closeWith(() => executor.close());
});
