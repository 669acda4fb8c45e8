import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The core is pure by construction: its package depends on contracts only, and no source
// file reaches for I/O, the clock, randomness or a logger.

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("purity", () => {
  it("depends on @marina/contracts only", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(Object.keys((pkg.dependencies as object) ?? {})).toEqual(["@marina/contracts"]);
    const tsconfig = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")) as {
      compilerOptions: { types: string[] };
    };
    expect(tsconfig.compilerOptions.types).toEqual([]);
  });

  const forbidden: [RegExp, string][] = [
    [/from\s+["']node:/, "node:* import"],
    [/from\s+["'](nats|@nats-io\/[^"']+|mariadb|fastify|pino|zod)["']/, "I/O or framework import"],
    [
      /from\s+["']@marina\/contracts["']/,
      "contracts root import (pulls config-file.ts, which reads files): import a subpath",
    ],
    [/\bDate\.now\(|new Date\(\)/, "clock read"],
    [/Math\.random|crypto\./, "randomness"],
    [/\bconsole\.|\bprocess\./, "logging or process access"],
    [/\bsetTimeout\(|\bsetInterval\(/, "timers"],
  ];
  const sources = files(src);

  it("has source files to check", () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it.each(sources.map((f) => [relative(root, f), f]))(
    "%s uses no I/O, clock, randomness or logger",
    (_n, file) => {
      const text = readFileSync(file, "utf8");
      for (const [re, what] of forbidden) expect(re.test(text), `${what} in ${file}`).toBe(false);
    },
  );
});
