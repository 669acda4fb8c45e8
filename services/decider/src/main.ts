#!/usr/bin/env node
// marina-decider --config marina.yaml [--id decider-a] [--nats URL[,URL…]] [--lease-ttl-ms 3000]
//   [--free-lease-grace-ms N] [--handover-stable-ms N] [--handover-backoff-ms N] [--state-format N]
//   [--api-port P] [--metrics-port P]
// Reads the flags and the config, connects to NATS and starts the decider (see start.ts);
// stops cleanly on SIGINT/SIGTERM, releasing its leases. A bad config or argument (a
// missing NATS password secret too) is one line on stderr and exit code 2 (@marina/runtime).
import { hostname } from "node:os";
import { loadConfigFile } from "@marina/contracts";
import {
  connectNatsWithRetry,
  createLogger,
  defaultId,
  handleShutdown,
  natsCredentials,
  natsServers,
  parseArgs,
  runMain,
} from "@marina/runtime";
import type { DeciderApp } from "./app.js";
import {
  apiSettingsOf,
  DECIDER_ARGS,
  metricsAddressOf,
  sharingOptions,
  stateFormatFlag,
} from "./args.js";
import { resolveTokens } from "./http/auth.js";
import { startDecider } from "./start.js";

void runMain(DECIDER_ARGS.program, async () => {
  const args = parseArgs(DECIDER_ARGS, process.argv.slice(2));
  const stateWriteFormat = stateFormatFlag(args);
  const config = loadConfigFile(args.config);
  const id = args.id ?? defaultId(`decider-${hostname()}-${process.pid}`, "decider");
  // Before anything starts: a missing secret is a bad config, not a reason to retry.
  const credentials = natsCredentials(config.nats, process.env, "decider");
  const api = apiSettingsOf(args, config);
  // The API's tokens too (checked again when the API is built, after NATS is up).
  if (api) resolveTokens(api, process.env);
  const log = createLogger({ service: "decider", bindings: { decider: id } });
  // A signal while NATS is still unreachable ends the process at once (nothing to close).
  const shutdown = handleShutdown({ log });
  const nc = await connectNatsWithRetry({
    servers: natsServers(args.nats, config.nats.servers),
    name: `marina-decider-${id}`,
    log,
    signal: shutdown.signal,
    ...credentials,
  });
  let app: DeciderApp;
  try {
    app = await startDecider({
      config,
      id,
      nc,
      log,
      leaseTtlMs: args["lease-ttl-ms"],
      sharing: sharingOptions(args),
      stateWriteFormat,
      signal: shutdown.signal,
      api: api ?? false,
      metricsHttp: metricsAddressOf(args, config) ?? false,
      defaultMetrics: true,
    });
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
  log.info({ id, clusters: config.clusters.map((c) => c.name) }, "decider started");
  shutdown.closeWith(async () => {
    await app.close();
    await nc.drain();
  });
});
