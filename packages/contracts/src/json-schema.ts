import { z } from "zod";
import { messageSchemas } from "./registry.js";

/** JSON Schema (draft 2020-12) text for every message, keyed by file name. */
export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(messageSchemas).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
    const doc = { $id: `https://marina.dev/schemas/v1/${name}.json`, title: name, ...json };
    out.set(`${name}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  }
  return out;
}
