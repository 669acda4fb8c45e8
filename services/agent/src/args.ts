// The agent's command line (parsed by @marina/runtime's parseArgs): only its own config
// file; the host id and NATS are in it.
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";

export const AGENT_ARGS = {
  program: "marina-agent",
  flags: { config: { ...SERVICE_FLAGS.config, example: "agent.yaml" } },
} as const;

export type AgentArgs = ParsedArgs<(typeof AGENT_ARGS)["flags"]>;
