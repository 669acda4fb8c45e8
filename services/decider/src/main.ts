#!/usr/bin/env node
// marina-decider --config marina.yaml [--id decider-a]
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { loadConfigFile, MarinaError, resolveSecret } from "@marina/contracts";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { buildApp } from "./app.js";

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
  const nc = await connectWithRetry(config.nats);
  const app = await buildApp({
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

async function connectWithRetry(n: {
  servers: string[];
  user?: string;
  password?: Parameters<typeof resolveSecret>[0];
}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect({
        servers: n.servers,
        user: n.user,
        pass: n.password ? resolveSecret(n.password) : undefined,
        maxReconnectAttempts: -1,
        name: "marina-decider",
      });
    } catch (err) {
      const delay = Math.min(5000, 250 * attempt);
      log.error(
        `cannot reach NATS at ${n.servers.join(",")}: ${(err as Error).message}; retrying in ${delay} ms`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

main().catch((err: unknown) => {
  console.error(`marina-decider: ${(err as Error).message}`);
  process.exit(1);
});
