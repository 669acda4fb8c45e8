// deploy/README.md names only files that exist under deploy/, and names every one of them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, normalize, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../../..");
const deploy = join(repo, "deploy");
const readme = readFileSync(join(deploy, "README.md"), "utf8");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(deploy, path)];
  });
}

/** Paths under deploy/ the README names, relative to deploy/. */
function namedPaths(text: string): string[] {
  const named = new Set<string>();
  // links: [text](target), relative to deploy/
  for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/.test(target)) continue;
    const path = normalize(join("deploy", target));
    if (path.startsWith("deploy/")) named.add(path.slice("deploy/".length));
  }
  // deploy/… in the text, and the installed copies /opt/marina/deploy/…
  for (const m of text.matchAll(/(?<![\w.-])(?:\/opt\/marina\/)?deploy\/([\w./-]*\w)/g)) {
    named.add(m[1]!);
  }
  return [...named].sort();
}

describe("deploy/README.md", () => {
  const named = namedPaths(readme);

  it("names files", () => {
    expect(named).toContain("install.sh");
    expect(named).toContain("nats/nats1.conf");
    expect(named).toContain("systemd/nats-server.service");
  });

  it("names only files that exist", () => {
    const missing = named.filter((p) => {
      try {
        return !statSync(join(deploy, p)).isFile() && !statSync(join(deploy, p)).isDirectory();
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });

  it("names every file in deploy/", () => {
    const unnamed = filesUnder(deploy).filter((f) => f !== "README.md" && !named.includes(f));
    expect(unnamed).toEqual([]);
  });
});
