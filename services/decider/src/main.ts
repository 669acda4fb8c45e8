#!/usr/bin/env node
// marina-decider --config marina.yaml [--id decider-a] [--lease-ttl-ms 3000]
// Reads the flags and the config, connects to NATS and starts the decider (see start.ts);
// stops cleanly on SIGINT/SIGTERM, releasing its leases.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { loadConfigFile, MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { connectNatsWithRetry, startDecider } from "./start.js";

const { values } = parseArgs({
  options: {
    config: { type: "string", short: "c" },
    id: { type: "string" },
    "lease-ttl-ms": { type: "string" },
  },
});
const log = pino({ name: "marina-decider", redact: ["*.password", "password"] });

async function main() {
  if (!values.config) throw new MarinaError("VALIDATION_FAILED", "--config <file> is required");
  const config = loadConfigFile(values.config);
  const id = values.id ?? `decider-${hostname()}-${process.pid}`;
  const nc = await connectNatsWithRetry(config.nats, log);
  const app = await startDecider({
    config,
    id,
    nc,
    log,
    leaseTtlMs: values["lease-ttl-ms"] ? Number(values["lease-ttl-ms"]) : undefined,
  });
  log.info({ id, clusters: config.clusters.map((c) => c.name) }, "decider started");
  const stop = async () => {
    await app.close();
    await nc.drain();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`marina-decider: ${(err as Error).message}`);
  process.exit(1);
});
