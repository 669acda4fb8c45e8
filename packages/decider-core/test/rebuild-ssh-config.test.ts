import { ClusterConfig, sshSettingsOf } from "@marina/contracts/config";
import { describe, expect, it } from "vitest";

// The SSH settings of an agentless host: cluster defaults, the server's own fields winning,
// then Marina's defaults; what is required is named when missing.

const FP = `SHA256:${"b".repeat(43)}`;

function config(over: Record<string, unknown> = {}, servers?: unknown[]) {
  return ClusterConfig.parse({
    name: "main",
    servers: servers ?? [
      { name: "db1", host: "10.0.0.11", datadir: "/var/lib/mysql" },
      { name: "db2", host: "10.0.0.12" },
    ],
    admin: { user: "marina", password: { env: "ADMIN_PW" } },
    replication: { user: "repl", password: { value: "y" } },
    ...over,
  });
}

describe("sshSettingsOf", () => {
  it("is null without any ssh section", () => {
    expect(sshSettingsOf(config(), "db1")).toBeNull();
  });

  it("merges cluster defaults with the server's own fields and applies the defaults", () => {
    const c = config({ ssh: { privateKey: { env: "KEY" }, hostKeyFingerprint: FP, user: "ops" } }, [
      { name: "db1", host: "10.0.0.11", datadir: "/var/lib/mysql", ssh: { port: 2222, user: "x" } },
    ]);
    expect(sshSettingsOf(c, "db1")).toEqual({
      ok: true,
      settings: {
        host: "10.0.0.11",
        port: 2222,
        user: "x",
        privateKey: { env: "KEY" },
        hostKeyFingerprint: FP,
        sudo: true,
        datadir: "/var/lib/mysql",
        osUser: "mysql",
        osGroup: "mysql",
        defaultsFile: "/etc/mysql/my.cnf",
        socket: "/run/mysqld/mysqld.sock",
        unit: "mariadb",
        service: null,
        backup: { user: "marina", password: { env: "ADMIN_PW" } },
        tmpDir: "/var/tmp/marina-backup",
        listenAddress: "10.0.0.11",
        advertiseAddress: "10.0.0.11",
        streamPort: 4444,
      },
    });
  });

  it("names the missing required fields", () => {
    const c = config({ ssh: { user: "ops" } });
    expect(sshSettingsOf(c, "db2")).toEqual({
      ok: false,
      missing: ["privateKey", "hostKeyFingerprint", "datadir"],
    });
  });

  it.each([
    ["a fingerprint that is not SHA256", { hostKeyFingerprint: "MD5:aa" }],
    ["a relative datadir", { datadir: "var/lib/mysql" }],
    ["an unknown field", { password: "x" }],
    ["a private key given two ways", { privateKey: { path: "/k", env: "K" } }],
  ])("refuses %s", (_what, ssh) => {
    expect(() => config({ ssh })).toThrow();
  });
});
