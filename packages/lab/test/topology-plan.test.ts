import { describe, expect, it } from "vitest";
import { planTopology } from "../src/topology-plan.js";

describe("planTopology", () => {
  it("primary-replicas: db1 primary, the others replicate db1", () => {
    const p = planTopology("primary-replicas");
    expect(p.map((n) => [n.name, n.role, n.serverId, n.domainId])).toEqual([
      ["db1", "primary", 1, 0],
      ["db2", "replica", 2, 0],
      ["db3", "replica", 3, 0],
    ]);
    expect(p[2]?.sources).toEqual([{ from: "db1" }]);
  });

  it("chain: each node replicates the previous one", () => {
    const p = planTopology("chain", 4);
    expect(p.map((n) => n.role)).toEqual(["primary", "relay", "relay", "replica"]);
    expect(p.map((n) => n.sources[0]?.from)).toEqual([undefined, "db1", "db2", "db3"]);
  });

  it("multi-source: two primaries in domains 1 and 2, named connections", () => {
    const p = planTopology("multi-source");
    expect(p.map((n) => [n.role, n.domainId])).toEqual([
      ["primary", 1],
      ["primary", 2],
      ["replica", 0],
    ]);
    expect(p[2]?.sources).toEqual([
      { from: "db1", connectionName: "p1" },
      { from: "db2", connectionName: "p2" },
    ]);
  });

  it.each([
    ["multi-source", 2],
    ["chain", 1],
    ["primary-replicas", 0],
    ["primary-replicas", 10],
    ["primary-replicas", 2.5],
  ] as const)("rejects %s with %d nodes", (shape, n) => {
    expect(() => planTopology(shape, n)).toThrow(/nodes/);
  });
});
