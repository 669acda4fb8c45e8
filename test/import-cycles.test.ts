// No import cycle in any package's sources (relative imports, type-only ones included).
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cyclesOf, graphOf } from "./import-graph.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = ["packages", "services"]
  .flatMap((group) => readdirSync(join(root, group)).map((p) => join(root, group, p, "src")))
  .concat(join(root, "bench", "src"))
  .filter((dir) => existsSync(dir));

describe("import cycles", () => {
  it("finds every package's sources", () => {
    expect(sources.length).toBeGreaterThanOrEqual(12);
  });

  it.each(sources.map((dir) => [relative(root, dir), dir]))("none in %s", (_name, dir) => {
    const cycles = cyclesOf(graphOf(dir)).map((c) => c.map((f) => relative(dir, f)).join(" -> "));
    expect(cycles).toEqual([]);
  });
});
