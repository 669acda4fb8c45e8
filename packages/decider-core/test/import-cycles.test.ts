import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// No module of the core imports itself back, directly or through others: the operation
// engine receives the plans (plans/index.ts) instead of importing them, and helpers both
// sides need live in modules of their own. Type-only imports count too: a cycle of types
// is still two modules that cannot be read one without the other.

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative specifiers of `import … from "./x.js"` and `export … from "./x.js"`. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /^\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/gms;
  for (const m of text.matchAll(re)) out.push(m[1]!);
  const bare = /^\s*import\s+["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(bare)) out.push(m[1]!);
  return out;
}

function graphOf(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files(dir)) {
    const deps = relativeImports(readFileSync(file, "utf8")).map((spec) =>
      resolve(dirname(file), spec.replace(/\.js$/, ".ts")),
    );
    graph.set(file, deps);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of files around it. */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === "open") cycles.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

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
