// A command Marina refused: its code, message and the field at fault, as it said them.
import type { ErrorBody } from "@marina/contracts";
import type { Style } from "./style.js";

export function formatRefusal(verb: string, error: ErrorBody, s: Style): string[] {
  const where = error.path !== undefined && error.path !== "" ? ` at ${s.bold(error.path)}` : "";
  const lines = [`${verb} refused: ${s.red(error.code)}${where}: ${error.message}`];
  if (error.retryable) lines.push(s.dim("  (retryable: the same command may succeed in a moment)"));
  return lines;
}
