#!/usr/bin/env node
import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { loadAgentConfig } from "./config.js";
import { startAgent } from "./start.js";

// marina-agent --config agent.yaml

function configPath(argv: string[]): string {
  const i = argv.indexOf("--config");
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--config="))?.slice(9);
  if (!v) {
    console.error("usage: marina-agent --config <agent.yaml>");
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const log = pino({
    name: "marina-agent",
    redact: ["*.password", "password", "*.MYSQL_PWD", "*.privateKey"],
  });
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(configPath(process.argv.slice(2)));
  } catch (err) {
    console.error(err instanceof MarinaError ? err.message : String(err));
    process.exit(2);
  }
  const agent = await startAgent({ config, log });
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, "stopping");
    agent.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
