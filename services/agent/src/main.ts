#!/usr/bin/env node
// marina-agent --config agent.yaml: serves this host's agent subjects until SIGTERM/SIGINT.
// A bad config or argument (a missing secret too) is one line on stderr and exit code 2
// (@marina/runtime).
import { createLogger, handleShutdown, parseArgs, runMain } from "@marina/runtime";
import { AGENT_ARGS } from "./args.js";
import { loadAgentConfig } from "./config.js";
import { startAgent } from "./start.js";

void runMain(AGENT_ARGS.program, async () => {
  const args = parseArgs(AGENT_ARGS, process.argv.slice(2));
  const config = loadAgentConfig(args.config);
  const log = createLogger({ service: "agent", bindings: { agent: config.host } });
  // A signal while NATS is still unreachable ends the process at once (nothing to close).
  const shutdown = handleShutdown({ log });
  const agent = await startAgent({ config, log, signal: shutdown.signal, defaultMetrics: true });
  shutdown.closeWith(() => agent.stop());
});
