import { parseAgentConfig } from "../src/index.js";

/** The one-line error a config text gets (the test fails when it loads). */
export function configErrorOf(text: string): string {
  try {
    parseAgentConfig(text, "agent.yaml");
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a config error");
}
