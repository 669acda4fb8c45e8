// The workspace's layout rules (shared/STYLE.md), checked on the files themselves: curated
// package entries, benchmarks in bench/ only, the lab never in a service's build, and every
// workspace package built by tsconfig.build.json.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

// tsconfig files may carry comments and trailing commas.
function readJsonc(file: string): Record<string, unknown> {
  const text = readFileSync(join(root, file), "utf8")
    .replace(/"(?:\\.|[^"\\])*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m) => (m.startsWith('"') ? m : ""))
    .replace(/,(\s*[}\]])/g, "$1");
  return JSON.parse(text) as Record<string, unknown>;
}

/** The `packages:` globs of pnpm-workspace.yaml ("dir" or "dir/*"). */
function workspaceGlobs(): string[] {
  const text = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  return [...text.matchAll(/^\s*-\s*["']?([^"'\s#]+)["']?/gm)].map((m) => m[1]!);
}

/** Workspace package directories relative to the root, e.g. "packages/lab", "bench". */
function workspacePackages(): string[] {
  const dirs: string[] = [];
  for (const glob of workspaceGlobs()) {
    if (glob.endsWith("/*")) {
      const parent = glob.slice(0, -2);
      for (const name of readdirSync(join(root, parent)).sort()) {
        const dir = `${parent}/${name}`;
        if (existsSync(join(root, dir, "package.json"))) dirs.push(dir);
      }
    } else if (!glob.includes("*")) {
      dirs.push(glob);
    } else {
      throw new Error(`pnpm-workspace.yaml: unsupported glob ${glob}`);
    }
  }
  return dirs;
}

const packages = workspacePackages();
const services = packages.filter((d) => d.startsWith("services/"));

/** Every key of an `exports` map, nested conditions included. */
function exportKeys(exports: unknown): string[] {
  if (exports === null || typeof exports !== "object") return [];
  return Object.entries(exports).flatMap(([k, v]) => [k, ...exportKeys(v)]);
}

describe("workspace layout", () => {
  it("finds the workspace packages", () => {
    expect(packages).toContain("packages/contracts");
    expect(packages).toContain("bench");
    expect(services.length).toBeGreaterThan(0);
  });

  it("no package.json exports a wildcard subpath", () => {
    const offenders = ["package.json", ...packages.map((d) => `${d}/package.json`)].filter((file) =>
      exportKeys(readJsonc(file).exports).some((k) => k.includes("*")),
    );
    expect(offenders).toEqual([]);
  });

  it("benchmarks live in bench/, not in a service", () => {
    const offenders = services.filter((d) => existsSync(join(root, d, "src", "bench")));
    expect(offenders).toEqual([]);
  });

  it("no service's tsconfig references the lab, or maps a path to it", () => {
    const lab = resolve(root, "packages/lab");
    const offenders: string[] = [];
    for (const dir of services) {
      const config = readJsonc(`${dir}/tsconfig.json`);
      const refs = (config.references ?? []) as Array<{ path: string }>;
      for (const ref of refs) {
        if (resolve(root, dir, ref.path) === lab) offenders.push(`${dir}: references ${ref.path}`);
      }
      const options = (config.compilerOptions ?? {}) as { paths?: Record<string, string[]> };
      for (const [alias, targets] of Object.entries(options.paths ?? {})) {
        const toLab = targets.some((t) => resolve(root, dir, t).startsWith(lab));
        if (alias.startsWith("@marina/lab") || toLab) offenders.push(`${dir}: paths ${alias}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("no service depends on the lab outside its tests", () => {
    const offenders = services.filter((d) => {
      const pkg = readJsonc(`${d}/package.json`) as { dependencies?: Record<string, string> };
      return "@marina/lab" in (pkg.dependencies ?? {});
    });
    expect(offenders).toEqual([]);
  });

  it("tsconfig.build.json builds every workspace package", () => {
    const refs = (readJsonc("tsconfig.build.json").references ?? []) as Array<{ path: string }>;
    const built = new Set(refs.map((r) => relative(root, resolve(root, r.path))));
    const missing = packages.filter((d) => !built.has(d));
    expect(missing).toEqual([]);
    const noTsconfig = packages.filter((d) => !existsSync(join(root, d, "tsconfig.json")));
    expect(noTsconfig).toEqual([]);
  });
});
