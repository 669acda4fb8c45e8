// Promotion rules, datacenters and delayed replicas in the candidate choice (issue 18):
// the most advanced replica still comes first; the rules order the equals and exclude.
import { ClusterConfig, type ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type CandidateInput, chooseCandidate } from "../src/candidates.js";
import { conn, makeConfig, obs } from "./helpers.js";

type ServerOver = NonNullable<Parameters<typeof makeConfig>[0]>["servers"];

function cluster(servers: ServerOver, failover: Record<string, unknown> = {}) {
  return makeConfig({
    servers: [{ name: "db1", datacenter: "east" }, ...(servers ?? [])],
    failover,
  });
}

/** A replica of db1 that received and applied `io`. */
function rep(
  config: ReturnType<typeof makeConfig>,
  io: string,
  c: Parameters<typeof conn>[2] = {},
) {
  return obs({
    gtidCurrentPos: io,
    gtidBinlogPos: io,
    gtidSlavePos: io,
    replication: [conn(config, "db1", { gtidIoPos: io, secondsBehindMaster: null, ...c })],
  });
}

function choose(
  config: ReturnType<typeof makeConfig>,
  positions: Record<string, string | ServerObservation>,
  over: Partial<CandidateInput> = {},
) {
  const servers: Record<string, ServerObservation> = {};
  for (const [name, p] of Object.entries(positions)) {
    servers[name] = typeof p === "string" ? rep(config, p) : p;
  }
  return chooseCandidate({
    config,
    primary: "db1",
    servers,
    maintenance: [],
    diverged: [],
    lastLag: {},
    mode: "failover",
    ...over,
  });
}

describe("promotion rules among equals", () => {
  const cases: [string, ServerOver, Record<string, string>, string, string[]][] = [
    [
      "prefer beats config order",
      [{ name: "db2" }, { name: "db3", promotion: "prefer" }],
      { db2: "0-1-100", db3: "0-1-100" },
      "db3",
      ["db3", "db2"],
    ],
    [
      "preferNot goes after neutral",
      [{ name: "db2", promotion: "preferNot" }, { name: "db3" }],
      { db2: "0-1-100", db3: "0-1-100" },
      "db3",
      ["db3", "db2"],
    ],
    [
      "the most advanced first, whatever its rule",
      [
        { name: "db2", promotion: "prefer" },
        { name: "db3", promotion: "preferNot" },
      ],
      { db2: "0-1-99", db3: "0-1-100" },
      "db3",
      ["db3", "db2"],
    ],
    [
      "prefer, neutral, preferNot in that order",
      [
        { name: "db2", promotion: "preferNot" },
        { name: "db3" },
        { name: "db4", promotion: "prefer" },
      ],
      { db2: "0-1-100", db3: "0-1-100", db4: "0-1-100" },
      "db4",
      ["db4", "db3", "db2"],
    ],
    [
      "never is excluded, even the most advanced (a local one pulls from it)",
      [{ name: "db2", promotion: "never" }, { name: "db3" }],
      { db2: "0-1-104", db3: "0-1-100" },
      "db3",
      ["db3", "db2"],
    ],
  ];
  it.each(cases)("%s", (_n, servers, positions, chosen, order) => {
    const config = cluster(servers);
    const r = choose(config, positions);
    expect(r.ok && r.candidate).toBe(chosen);
    expect(r.ranked.map((x) => x.server)).toEqual(order);
  });

  it("neverPromote is promotion never; the two together must agree", () => {
    const config = cluster([{ name: "db2", neverPromote: true }, { name: "db3" }]);
    const r = choose(config, { db2: "0-1-100", db3: "0-1-100" });
    expect(r.ranked.find((x) => x.server === "db2")).toMatchObject({
      promotion: "never",
      excluded: expect.stringMatching(/never/),
    });
    const bad = ClusterConfig.safeParse({
      name: "main",
      servers: [{ name: "db1", host: "h", neverPromote: true, promotion: "prefer" }],
      admin: { user: "a", password: { value: "x" } },
      replication: { user: "r", password: { value: "y" } },
    });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain("contradicts");
  });
});

describe("failover.crossDatacenter", () => {
  // db1 (failed primary) in east; db2 west; db3 east.
  const servers: ServerOver = [
    { name: "db2", datacenter: "west" },
    { name: "db3", datacenter: "east" },
  ];
  const cases: [string, string, Record<string, string>, string | null, RegExp | null][] = [
    ["allow: local first among equals", "allow", { db2: "0-1-100", db3: "0-1-100" }, "db3", null],
    [
      "allow: the most advanced even if remote",
      "allow",
      { db2: "0-1-101", db3: "0-1-100" },
      "db2",
      null,
    ],
    [
      "onlyIfNoLocal: a local one behind pulls from the remote one",
      "onlyIfNoLocal",
      { db2: "0-1-101", db3: "0-1-100" },
      "db3",
      null,
    ],
    [
      "onlyIfNoLocal: no local replica alive → remote",
      "onlyIfNoLocal",
      { db2: "0-1-100" },
      "db2",
      null,
    ],
    [
      "never: the remote one is excluded; the local one pulls from it",
      "never",
      { db2: "0-1-101", db3: "0-1-100" },
      "db3",
      null,
    ],
    [
      "never: no local replica → no candidate",
      "never",
      { db2: "0-1-100" },
      null,
      /datacenter west, not the failed primary's east \(failover.crossDatacenter: never\)/,
    ],
  ];
  it.each(cases)("%s", (_n, rule, positions, chosen, why) => {
    const config = cluster(servers, { crossDatacenter: rule });
    const r = choose(config, positions);
    if (chosen === null) {
      expect(r).toMatchObject({ ok: false, code: "NO_CANDIDATE" });
      expect(r.ok ? "" : r.reason).toMatch(why!);
      return;
    }
    expect(r.ok && r.candidate).toBe(chosen);
    if (r.ok && chosen === "db3" && positions.db2 === "0-1-101") {
      expect(r.pulls).toEqual([{ from: "db2", connection: "", pos: "0-1-101" }]);
    }
  });

  it("onlyIfNoLocal: the remote one is tried when the local one cannot get what it lacks", () => {
    const config = cluster(
      [
        { name: "db2", datacenter: "west" },
        { name: "db3", datacenter: "east" },
        { name: "db4", datacenter: "west" },
      ],
      { crossDatacenter: "onlyIfNoLocal" },
    );
    // db2 has 101 and can serve it; db4 has 102 but no log_slave_updates: db3 (local) cannot
    // get 102, db4 (remote, most advanced) can be promoted and pulls nothing.
    const db4 = obs({
      ...rep(config, "0-1-102"),
      logSlaveUpdates: false,
    });
    const r = choose(config, { db2: "0-1-101", db3: "0-1-100", db4 });
    expect(r.ok && r.candidate).toBe("db4");
  });

  it("a named target in another datacenter is the operator's choice", () => {
    const config = cluster(servers, { crossDatacenter: "never" });
    const r = choose(config, { db2: "0-1-100", db3: "0-1-100" }, { target: "db2" });
    expect(r.ok && r.candidate).toBe("db2");
  });

  it("a switchover is not bound by crossDatacenter, but takes a local one among equals", () => {
    const config = cluster(servers, { crossDatacenter: "never" });
    const r = choose(config, { db2: "0-1-100", db3: "0-1-100" }, { mode: "switchover" });
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ranked.find((x) => x.server === "db2")?.excluded).toBeNull();
  });
});

describe("delayed replicas (MASTER_DELAY)", () => {
  const config = cluster([{ name: "db2" }, { name: "db3" }]);

  it("never promotes one, even the most advanced or named", () => {
    // db2 received 110 (IO thread not delayed) but applied only 90.
    const db2 = obs({
      gtidCurrentPos: "0-1-90",
      gtidBinlogPos: "0-1-90",
      gtidSlavePos: "0-1-90",
      replication: [conn(config, "db1", { gtidIoPos: "0-1-110", secondsBehindMaster: 3600 })],
    });
    for (const target of [null, "db2"]) {
      const r = choose(
        config,
        { db2, db3: "0-1-100" },
        { target, delays: { db2: { "": 3600 } }, lastLag: {} },
      );
      expect(r.ranked.find((x) => x.server === "db2")?.excluded).toMatch(
        /delayed replica \(MASTER_DELAY 3600 s\)/,
      );
      if (target === null) {
        // What only its relay log holds (101-110) is not required of db3, and nothing is
        // pulled from it: its binlog (90) has nothing db3 lacks.
        expect(r.ok && r.candidate).toBe("db3");
        expect(r.ok && r.pulls).toEqual([]);
      } else {
        expect(r).toMatchObject({ ok: false, code: "TARGET_NOT_ELIGIBLE" });
      }
    }
  });

  it("requires what only its relay log holds when its semi-sync is on (it may have acknowledged it)", () => {
    const db2 = obs({
      gtidCurrentPos: "0-1-90",
      gtidBinlogPos: "0-1-90",
      gtidSlavePos: "0-1-90",
      replication: [conn(config, "db1", { gtidIoPos: "0-1-110", secondsBehindMaster: 3600 })],
    });
    const acking = { ...db2, semiSync: { ...db2.semiSync, slaveEnabled: true, slaveStatus: true } };
    const r = choose(config, { db2: acking, db3: "0-1-100" }, { delays: { db2: { "": 3600 } } });
    expect(r).toMatchObject({ ok: false, code: "NO_CANDIDATE" });
    expect(r.ok ? "" : r.reason).toMatch(/db2 holds 0-1-110 that db3 lacks only in its relay log/);
  });

  it("reads the delay from the connection itself too (a monitor's sample)", () => {
    const db2 = rep(config, "0-1-100", { sqlDelay: 60 });
    const r = choose(config, { db2, db3: "0-1-100" });
    expect(r.ranked.find((x) => x.server === "db2")?.excluded).toMatch(/MASTER_DELAY 60 s/);
    expect(r.ok && r.candidate).toBe("db3");
  });

  it("a delayed replica that applied more than the candidate is pulled from, up to what it applied", () => {
    const db2 = obs({
      gtidCurrentPos: "0-1-104",
      gtidBinlogPos: "0-1-104",
      gtidSlavePos: "0-1-104",
      replication: [conn(config, "db1", { gtidIoPos: "0-1-110", secondsBehindMaster: 10 })],
    });
    const r = choose(config, { db2, db3: "0-1-100" }, { delays: { db2: { "": 60 } } });
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ok && r.pulls).toEqual([{ from: "db2", connection: "", pos: "0-1-104" }]);
  });

  it("without the delay known, the same replica would be the candidate (the table can fail)", () => {
    const db2 = obs({
      gtidCurrentPos: "0-1-90",
      gtidBinlogPos: "0-1-90",
      gtidSlavePos: "0-1-90",
      replication: [conn(config, "db1", { gtidIoPos: "0-1-110", secondsBehindMaster: null })],
    });
    const r = choose(config, { db2, db3: "0-1-100" });
    expect(r.ok && r.candidate).toBe("db2");
  });
});
