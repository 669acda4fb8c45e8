// Servers as the page shows them, and the graph's layout.
import { describe, expect, it } from "vitest";
import { layoutGraph, NODE_HEIGHT } from "../src/web/model/graph.js";
import { AGENT_STALE_MS, clusterView } from "../src/web/model/servers.js";
import { status, statusServer, topology } from "./fixtures.js";

const from = (source: string, connection = "") => ({ connection, source });

describe("clusterView", () => {
  it("shows each server's role, read_only, GTID, lag, situations and agent", () => {
    const v = clusterView(status(), null);
    expect(v.primary).toBe("db1");
    expect(v.writer).toBe("db1");
    const [db1, db2] = v.servers;
    expect(db1).toMatchObject({
      name: "db1",
      role: "primary",
      tone: "primary",
      readOnly: "OFF",
      gtid: "0-1-10",
      lag: "—",
      situations: ["PrimaryHealthy"],
      marks: ["writer"],
      agent: { state: "ok", text: "agent-db1: ok" },
    });
    expect(db2).toMatchObject({ role: "replica", readOnly: "ON", lag: "0 s" });
    expect(db2!.sources).toEqual([{ connection: "", source: "db1", state: "ok" }]);
  });

  it("takes roles from a newer topology (the stream) and from the status otherwise", () => {
    const t = topology(5, "db2", [
      ["db1", "down", []],
      ["db2", "primary", []],
      ["db3", "replica", [from("db2")]],
    ]);
    const newer = clusterView(status(), t);
    expect(newer.primary).toBe("db2");
    expect(newer.servers.map((s) => s.role)).toEqual(["down", "primary", "replica"]);
    const older = clusterView(status({ topologyGeneration: 5 }), t);
    expect(older.primary).toBe("db1");
  });

  it("marks down, diverged, fenced and maintenance servers, broken and lagging links", () => {
    const v = clusterView(
      status({
        servers: [
          statusServer("db1", "down"),
          statusServer("db2", "primary"),
          statusServer("db3", "replica", {
            sources: [from("db2")],
            situations: ["ReplicaBroken"],
          }),
          statusServer("db4", "diverged", { agentHost: null }),
          statusServer("db5", "maintenance", { sources: [from("db2")], lagSeconds: 45 }),
        ],
        primary: "db2",
        writer: { server: "db2", host: "h", port: 1 },
        fenced: ["db1"],
        diverged: { db4: "0-1-99" },
        maintenance: ["db5"],
      }),
      null,
    );
    const by = Object.fromEntries(v.servers.map((s) => [s.name, s]));
    expect(by.db1!.marks).toEqual(["down", "fenced"]);
    expect(by.db1!.tone).toBe("danger");
    expect(by.db3!.marks).toEqual(["broken"]);
    expect(by.db3!.sources[0]!.state).toBe("broken");
    expect(by.db4!.marks).toEqual(["diverged"]);
    expect(by.db4!.extraGtids).toBe("0-1-99");
    expect(by.db4!.agent).toEqual({ text: "no agent", state: "none" });
    expect(by.db5!.marks).toEqual(["maintenance", "lagging"]);
  });

  it("calls an agent stale once its heartbeat is old or never came", () => {
    const v = clusterView(
      status({ agents: { "agent-db1": AGENT_STALE_MS + 1, "agent-db2": null, "agent-db3": 1 } }),
      null,
    );
    expect(v.servers.map((s) => s.agent.state)).toEqual(["stale", "stale", "ok"]);
    expect(v.servers[0]!.agent.text).toBe("agent-db1: silent 5.0 s");
  });

  it("draws from the topology alone before the first status", () => {
    const v = clusterView(null, topology(1, "db1", [["db1", "primary", []]]));
    expect(v.servers[0]).toMatchObject({
      name: "db1",
      role: "primary",
      agent: { state: "unknown" },
    });
  });
});

describe("layoutGraph", () => {
  it("puts the primary on top, its replicas a row below, with an edge each", () => {
    const v = clusterView(status(), null);
    const g = layoutGraph(v.servers, v.primary);
    const y = Object.fromEntries(g.nodes.map((n) => [n.server.name, n.y]));
    expect(y.db2).toBe(y.db3);
    expect(y.db2! - y.db1!).toBeGreaterThan(NODE_HEIGHT);
    expect(g.edges.map((e) => `${e.from}->${e.to}:${e.state}`)).toEqual([
      "db1->db2:ok",
      "db1->db3:ok",
    ]);
    expect(g.nodes.every((n) => n.x >= 0 && n.x < g.width && n.y < g.height)).toBe(true);
  });

  it("puts a relay's replicas below it, a multi-source replica below its deepest source", () => {
    const t = topology(2, "db1", [
      ["db1", "primary", []],
      ["db2", "relay", [from("db1")]],
      ["db3", "replica", [from("db2")]],
      ["db4", "replica", [from("db1", "a"), from("db3", "b")]],
    ]);
    const g = layoutGraph(clusterView(null, t).servers, "db1");
    const row = Object.fromEntries(g.nodes.map((n) => [n.server.name, n.y]));
    expect(row.db1! < row.db2! && row.db2! < row.db3! && row.db3! < row.db4!).toBe(true);
    const multi = g.edges.filter((e) => e.to === "db4");
    expect(multi.map((e) => [e.connection, e.multiSource])).toEqual([
      ["a", true],
      ["b", true],
    ]);
  });

  it("puts servers attached to nothing on a row of their own, and survives a cycle", () => {
    const t = topology(3, "db2", [
      ["db1", "down", []],
      ["db2", "primary", []],
      ["db3", "replica", [from("db4")]],
      ["db4", "replica", [from("db3")]],
    ]);
    const g = layoutGraph(clusterView(null, t).servers, "db2");
    const detached = g.nodes.filter((n) => n.detached).map((n) => n.server.name);
    expect(detached).toEqual(["db1", "db3", "db4"]);
    expect(new Set(g.nodes.filter((n) => n.detached).map((n) => n.y)).size).toBe(1);
    expect(g.edges).toHaveLength(2);
  });

  it("lays out no servers as an empty graph", () => {
    expect(layoutGraph([], null).nodes).toEqual([]);
  });
});
