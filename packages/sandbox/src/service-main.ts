// Where each service's compiled entry point is, to run it as an OS process.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);

/** Path of a service's compiled main.js. */
export function serviceMain(
  pkg: "@marina/decider" | "@marina/monitor" | "@marina/executor" | "@marina/agent",
): string {
  return join(require.resolve(pkg), "..", "main.js");
}
