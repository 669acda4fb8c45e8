// The view models are pure: they import only each other and the contracts' types (so the
// bundle carries no zod), and read no clock, no page, no network. What time it is comes in
// as an argument; the browser's side is in src/web/api.ts, params.ts and ui/.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL("../src/web/model/", import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

describe("the dashboard's view models", () => {
  it.each(files)("%s imports only relative modules and contract types", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
      const [, isType, from] = m;
      if (from!.startsWith("./")) continue;
      expect(`${from} as type`, file).toBe(isType ? `${from} as type` : `${from} as value`);
      expect(from, file).toBe("@marina/contracts");
    }
  });

  it.each(files)("%s reads no clock, page or network", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    for (const banned of [
      "Date.now(",
      "new Date()",
      "performance.now",
      "Math.random",
      "window",
      "document",
      "fetch(",
      "sessionStorage",
      "localStorage",
      "setTimeout",
      "setInterval",
    ]) {
      expect(text.includes(banned), `${file} uses ${banned}`).toBe(false);
    }
  });
});
