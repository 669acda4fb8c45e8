import { describe, expect, it } from "vitest";
import { parseConfigText, resolveSecret } from "../src/config-file.js";
import { MarinaError } from "../src/errors.js";

const good = `
nats: { servers: ["nats://127.0.0.1:4222"] }
clusters:
  - name: main
    servers:
      - { name: db1, host: 127.0.0.1, port: 3306 }
      - { name: db2, host: 127.0.0.1, port: 3307, neverPromote: true }
    admin: { user: marina, password: { env: MARINA_ADMIN_PASSWORD } }
    replication: { user: repl, password: { value: secret } }
`;

function errorOf(text: string): MarinaError {
  try {
    parseConfigText(text, "marina.yaml");
  } catch (err) {
    return err as MarinaError;
  }
  throw new Error("expected an error");
}

describe("config", () => {
  it("parses YAML and fills defaults", () => {
    const cfg = parseConfigText(good, "marina.yaml");
    const c = cfg.clusters[0]!;
    expect(c.monitor.intervalMs).toBe(500);
    expect(c.failover.cooldownMs).toBe(60_000);
    expect(c.servers[1]!.neverPromote).toBe(true);
    expect(c.servers[0]!.neverPromote).toBe(false);
  });

  it("parses JSON too", () => {
    const cfg = parseConfigText(
      JSON.stringify({
        clusters: [
          {
            name: "c",
            servers: [{ name: "a", host: "h" }],
            admin: { user: "u", password: { value: "p" } },
            replication: { user: "r", password: { value: "p" } },
          },
        ],
      }),
      "m.json",
    );
    expect(cfg.clusters[0]!.servers[0]!.port).toBe(3306);
  });

  it.each([
    [good.replace("port: 3307", "port: 99999"), "marina.yaml: clusters.0.servers.1.port:"],
    [good.replace("name: db2", "name: db1"), 'clusters.0.servers.1.name: duplicate server "db1"'],
    [good.replace("name: main", "name: a.b"), "clusters.0.name: cluster name must"],
    [good.replace("user: repl, ", ""), "clusters.0.replication.user:"],
    [`${good}    bogus: 1\n`, "clusters.0: Unrecognized key"],
    ["clusters: [", "marina.yaml: not YAML/JSON"],
    ["", "marina.yaml: clusters:"],
  ])("names the bad field in one line (%#)", (text, message) => {
    const err = errorOf(text);
    expect(err).toBeInstanceOf(MarinaError);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.message).toContain(message);
    expect(err.message).not.toContain("\n");
  });

  it.each([
    [`${good}    ssh: { user: marina }\n`, "clusters.0.ssh"],
    [
      good.replace("{ name: db1, host: 127.0.0.1, port: 3306 }", "{ name: db1, host: h, ssh: {} }"),
      "clusters.0.servers.0.ssh",
    ],
  ])("refuses the decider's old ssh settings, saying where they moved (%#)", (text, path) => {
    const err = errorOf(text);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.path).toBe(path);
    expect(err.message).toMatch(
      new RegExp(`^marina.yaml: ${path.replace(/\./g, "\\.")}: removed: .*agent in SSH mode`),
    );
    expect(err.message).toContain("servers[].ssh");
    expect(err.message).toContain("docs/configuration.md");
  });

  it("failover.autoFlashback needs saveBinlogs", () => {
    expect(parseConfigText(good, "marina.yaml").clusters[0]!.failover.autoFlashback).toBe(false);
    const auto = `${good}    failover: { autoFlashback: true }\n`;
    const err = errorOf(auto);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.path).toBe("clusters.0.failover.autoFlashback");
    expect(err.message).toContain("needs clusters[].saveBinlogs");
    const saved = `${auto}    saveBinlogs: { dir: /var/lib/marina/saved }\n`;
    expect(parseConfigText(saved, "marina.yaml").clusters[0]!.failover.autoFlashback).toBe(true);
  });

  it("takes nats.replicas: auto by default, or 1 to 5", () => {
    expect(parseConfigText(good, "marina.yaml").nats.replicas).toBe("auto");
    const three = good.replace("nats: { servers:", "nats: { replicas: 3, servers:");
    expect(parseConfigText(three, "marina.yaml").nats.replicas).toBe(3);
    for (const bad of ["0", "6", "2.5", "three"]) {
      const err = errorOf(good.replace("nats: { servers:", `nats: { replicas: ${bad}, servers:`));
      expect(err.code).toBe("VALIDATION_FAILED");
      expect(err.message).toContain("nats.replicas");
    }
  });

  it("resolves secrets from the environment and names a missing variable", () => {
    expect(resolveSecret({ env: "X_PW" }, { X_PW: "s3cret" })).toBe("s3cret");
    expect(resolveSecret({ value: "v" }, {})).toBe("v");
    expect(() => resolveSecret({ env: "X_PW" }, {})).toThrow(/X_PW is not set/);
  });
});
