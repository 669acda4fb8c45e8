import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cyclesOf, graphOf, relativeImports } from "../../../test/import-graph.js";

// No module of the core imports itself back, directly or through others: the operation
// engine receives the plans (plans/index.ts) instead of importing them, and helpers both
// sides need live in modules of their own. Type-only imports count too: a cycle of types
// is still two modules that cannot be read one without the other. (The same rule holds for
// every package: test/import-cycles.test.ts.)

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

describe("import graph of src", () => {
  const graph = graphOf(src);
  const name = (f: string) => relative(src, f);

  it("reads every source file and its relative imports", () => {
    expect(graph.size).toBeGreaterThan(20);
    const decide = graph.get(join(src, "decide.ts"))!.map(name);
    expect(decide).toContain("plans/index.ts");
    expect(decide).toContain(join("engine", "operation.ts"));
  });

  it("resolves every relative import to a source file", () => {
    const missing = [...graph].flatMap(([f, deps]) =>
      deps.filter((d) => !graph.has(d)).map((d) => `${name(f)} -> ${name(d)}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no import cycle", () => {
    const cycles = cyclesOf(graph).map((c) => c.map(name).join(" -> "));
    expect(cycles).toEqual([]);
  });

  it("the engine imports no plan driver", () => {
    const engine = [...graph].filter(([f]) => name(f).startsWith("engine/"));
    const drivers = ["failover", "switchover", "rejoin", "rebuild", "index"].map((p) =>
      join(src, "plans", `${p}.ts`),
    );
    for (const [f, deps] of engine) {
      expect(deps.filter((d) => drivers.includes(d)).map(name), name(f)).toEqual([]);
    }
  });
});

describe("the cycle finder", () => {
  it("parses single-line, multi-line, type-only and re-export imports", () => {
    const text = [
      'import { a } from "./a.js";',
      "import {",
      "  b,",
      "  type C,",
      '} from "../b.js";',
      'import type { D } from "./d/index.js";',
      'export { e } from "./e.js";',
      'import { z } from "@marina/contracts/parse";',
    ].join("\n");
    expect(relativeImports(text)).toEqual(["./a.js", "../b.js", "./d/index.js", "./e.js"]);
  });

  it("finds a cycle and reports none in a tree", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cyclesOf(g)).toEqual([["a", "b", "c", "a"]]);
    expect(
      cyclesOf(
        new Map([
          ["a", ["b", "c"]],
          ["b", ["c"]],
          ["c", []],
        ]),
      ),
    ).toEqual([]);
  });
});
