// Records of format 1 (before formats were versioned), recorded from the lab with the
// release before them: see fixtures/format-1/README.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dirname, "fixtures", "format-1");

/** A recorded record, parsed (a fresh copy at every call). */
export function formatOne(
  name: "state-after-failover" | "state-mid-failover" | "lease" | "presence",
): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Record<string, unknown>;
}

/** A value as KV holds it. */
export const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
