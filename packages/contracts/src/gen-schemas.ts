#!/usr/bin/env node
// Writes docs/schemas/*.json from the zod schemas: `pnpm schemas`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderJsonSchemas } from "./json-schema.js";

const dir = process.argv[2] ?? "docs/schemas";
mkdirSync(dir, { recursive: true });
const files = renderJsonSchemas();
for (const old of readdirSync(dir)) {
  if (old.endsWith(".json") && !files.has(old)) rmSync(join(dir, old));
}
for (const [name, text] of files) writeFileSync(join(dir, name), text);
console.log(`wrote ${files.size} schemas to ${dir}`);
