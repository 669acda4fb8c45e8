// The import graph of a source tree, for the cycle tests (repo-wide in
// test/import-cycles.test.ts, decider-core's own rules in its package).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export function files(dir: string): string[] {
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

export function graphOf(dir: string): Map<string, string[]> {
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
