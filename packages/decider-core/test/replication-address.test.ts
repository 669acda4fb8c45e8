// A server's replication address (config `replicationAddress`): where replicas reach it,
// distinct from where Marina connects (containers: an alias on the network, a mapped port
// on the host). Links are matched by it; change-master points replicas at it.
import { ClusterConfig, replicationAddressOf } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { stepSql } from "../src/dry-run/step-sql.js";
import { serverAt } from "../src/knowledge.js";

const cluster = ClusterConfig.parse({
  name: "main",
  servers: [
    { name: "db1", host: "127.0.0.1", port: 20001, replicationAddress: { host: "db1" } },
    { name: "db2", host: "127.0.0.1", port: 20002, replicationAddress: { host: "db2" } },
    { name: "db3", host: "10.0.0.13" },
  ],
  admin: { user: "marina", password: { value: "x" } },
  replication: { user: "repl", password: { value: "y" } },
});

describe("replication address", () => {
  it("defaults to host and port, its port to 3306", () => {
    const [db1, , db3] = cluster.servers;
    expect(replicationAddressOf(db1!)).toEqual({ host: "db1", port: 3306 });
    expect(replicationAddressOf(db3!)).toEqual({ host: "10.0.0.13", port: 3306 });
  });

  it("is what a replica's Master_Host/Master_Port is matched against, then host/port", () => {
    expect(serverAt(cluster, "db2", 3306)).toBe("db2");
    expect(serverAt(cluster, "127.0.0.1", 20001)).toBe("db1");
    expect(serverAt(cluster, "10.0.0.13", 3306)).toBe("db3");
    expect(serverAt(cluster, "db9", 3306)).toBeNull();
  });

  it("is where change-master points the replica", () => {
    const lines = stepSql(
      { kind: "change-master", connection: "", source: "db1", useGtid: "slave_pos" },
      cluster,
    );
    expect(lines.join("\n")).toContain("MASTER_HOST='db1', MASTER_PORT=3306");
  });

  it("is refused when it is not an address", () => {
    const bad = {
      ...cluster,
      servers: [{ name: "db1", host: "h", replicationAddress: { host: "a b", port: 0 } }],
    };
    const r = ClusterConfig.safeParse(bad);
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(
      expect.arrayContaining([
        "servers.0.replicationAddress.host",
        "servers.0.replicationAddress.port",
      ]),
    );
  });
});
