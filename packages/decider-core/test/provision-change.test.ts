// provision-replica mode add / remove, pure parts: the checks against the sources already
// attached, the databases a connection's filter takes, the domains an added source brings,
// gtid_slave_pos with domains replaced, and the phases.
import type { ProvisionFacts } from "@marina/contracts";
import { replaceDomains } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  addedSourceDomains,
  addSourceAttach,
  checkAddSource,
  checkRemoveSource,
  filteredDatabases,
  type ProvisionPlanInput,
  provisionCopy,
  removeSourceDetach,
  restartSourcePhase,
  type SourceChangeInput,
} from "../src/index.js";

function facts(over: Partial<ProvisionFacts> = {}): ProvisionFacts {
  return {
    logBin: true,
    binlogFormat: "ROW",
    serverId: 5,
    gtidDomainId: 3,
    gtidBinlogPos: "3-5-100",
    readOnly: false,
    databases: ["src3"],
    nonInnodb: [],
    replicationAccount: true,
    connections: [],
    ...over,
  };
}

const target = facts({
  serverId: 3,
  gtidDomainId: 0,
  gtidBinlogPos: "1-1-50,2-2-40",
  gtidSlavePos: "1-1-50,2-2-40",
  readOnly: true,
  databases: ["src1", "src2"],
  connections: [
    { name: "p1", running: true, wildDoTable: "src1.%" },
    { name: "p2", running: true, wildDoTable: "src2.%,my\\_db.%" },
  ],
});

function input(over: Partial<SourceChangeInput> = {}): SourceChangeInput {
  return {
    target: "db3",
    targetFacts: target,
    source: { cluster: "p3", primary: "db5", databases: ["src3"], facts: facts() },
    attached: [
      {
        cluster: "p1",
        primary: "db1",
        databases: null,
        facts: facts({
          serverId: 1,
          gtidDomainId: 1,
          gtidBinlogPos: "1-1-50",
          databases: ["src1"],
        }),
      },
      {
        cluster: "p2",
        primary: "db2",
        databases: null,
        facts: facts({
          serverId: 2,
          gtidDomainId: 2,
          gtidBinlogPos: "2-2-40",
          databases: ["src2"],
        }),
      },
    ],
    replicationUser: "repl",
    homePrimary: "db1",
    promotableIn: [],
    ...over,
  };
}

const sourceWith = (over: Partial<ProvisionFacts>, databases: string[] | null = ["src3"]) => ({
  source: { cluster: "p3", primary: "db5", databases, facts: facts(over) },
});

/** The new source's gtid_binlog_pos, the target's gtid_slave_pos, p1's primary's gtid_binlog_pos. */
const withPositions = (pos: string, slavePos: string, p1Binlog: string) =>
  input({
    ...sourceWith({ gtidBinlogPos: pos }),
    targetFacts: { ...target, gtidSlavePos: slavePos },
    attached: [
      {
        ...input().attached[0]!,
        facts: facts({ serverId: 1, gtidDomainId: 1, gtidBinlogPos: p1Binlog }),
      },
      input().attached[1]!,
    ],
  });

describe("checkAddSource", () => {
  it("accepts a distinct source beside the attached ones", () => {
    expect(checkAddSource(input())).toEqual([]);
  });

  it.each([
    ["a past of its own (domain 0 nobody else has)", "0-9-7,3-5-100", "1-1-50,2-2-40", "1-1-50"],
    [
      "domains the attached write (a copy of a copy)",
      "1-1-9,2-2-9,3-5-100",
      "1-1-50,2-2-40",
      "1-1-50",
    ],
  ])("accepts %s", (_what, pos, slavePos, p1Binlog) => {
    const problems = checkAddSource(withPositions(pos, slavePos, p1Binlog));
    expect(problems).toEqual([]);
  });

  it.each([
    [
      "a past domain an attached primary's binlog carries",
      "0-9-7,3-5-100",
      "1-1-50,2-2-40",
      "0-1-12,1-1-50",
      /db5 \(p3\) has GTID domain 0 in its position, and db3 has it already .*FLUSH BINARY LOGS DELETE_DOMAIN_ID=\(0\).*IGNORE_DOMAIN_IDS=\(0\)/,
    ],
    [
      "a past domain in the target's gtid_slave_pos",
      "0-9-7,3-5-100",
      "0-1-12,1-1-50,2-2-40",
      "1-1-50",
      /GTID domain 0 in its position, and db3 has it already/,
    ],
    [
      "its own domain in the target's gtid_slave_pos (a source removed, its domain kept)",
      "3-5-100",
      "1-1-50,2-2-40,3-5-90",
      "1-1-50",
      /GTID domain 3 in its position, and db3 has it already/,
    ],
  ])("refuses %s", (_what, pos, slavePos, p1Binlog, message) => {
    const problems = checkAddSource(withPositions(pos, slavePos, p1Binlog));
    expect(problems.map((p) => p.message).join("\n")).toMatch(message);
  });

  it.each([
    [
      "a domain an attached source writes",
      sourceWith({ gtidDomainId: 2 }),
      /db2 \(p2\) and db5 \(p3\) both write in gtid_domain_id 2: .*give one cluster another gtid_domain_id/,
    ],
    [
      "a server_id an attached source has",
      sourceWith({ serverId: 1 }),
      /db1 \(p1\) and db5 \(p3\) share server_id 1/,
    ],
    ["the target's server_id", sourceWith({ serverId: 3 }), /db3 and db5 \(p3\) share server_id 3/],
    [
      "a database the target holds",
      sourceWith({ databases: ["src3", "src1"] }, ["src1"]),
      /db3 holds src1 already .*drop these on db3 first/,
    ],
    [
      "a connection of that name",
      {
        targetFacts: {
          ...target,
          connections: [...target.connections, { name: "p3", running: false }],
        },
      },
      /connection 'p3' already: remove that source first/,
    ],
    [
      "a target replicating nothing",
      { targetFacts: { ...target, connections: [] } },
      /replicates nothing yet: provision it \(mode provision\)/,
    ],
    [
      "a source without binlog",
      sourceWith({ logBin: false }),
      /db5 \(primary of p3\) has no binary log/,
    ],
    [
      "a MyISAM table",
      sourceWith({ nonInnodb: [{ table: "src3.m", engine: "MyISAM" }] }),
      /src3\.m \(MyISAM\) not InnoDB/,
    ],
    ["a writable target", { targetFacts: { ...target, readOnly: false } }, /db3 is writable/],
    ["a promotable target", { promotableIn: ["p3"] }, /db3 may be promoted in p3/],
    [
      "an attached primary that cannot be read",
      {
        attached: [{ cluster: "p1", primary: "db1", databases: null, facts: null }],
      },
      /primaries of p1 \(attached to db3\) could not be read/,
    ],
  ] as const)("refuses %s", (_what, over, message) => {
    const problems = checkAddSource(input(over as Partial<SourceChangeInput>));
    expect(problems.map((p) => p.message).join("\n")).toMatch(message);
  });
});

describe("filteredDatabases", () => {
  it.each([
    ["", null],
    [undefined, null],
    ["src1.%", ["src1"]],
    ["src1.%,my\\_db.%", ["src1", "my_db"]],
    ["src1.t%", null],
    ["my_db.%", null],
    ["src1.%,%.%", null],
  ])("%j → %j", (text, want) => {
    expect(filteredDatabases(text)).toEqual(want);
  });
});

describe("checkRemoveSource", () => {
  const remove = (cluster: string, over: Partial<SourceChangeInput> = {}, drop = false) =>
    checkRemoveSource(
      input({
        source: {
          cluster,
          primary: cluster === "p2" ? "db2" : "db1",
          databases: null,
          facts: facts({ gtidDomainId: cluster === "p2" ? 2 : 1 }),
        },
        ...over,
      }),
      drop,
    );

  it("takes the source's domain out and drops the filtered databases the target holds", () => {
    expect(remove("p2", {}, true)).toEqual({
      problems: [],
      domains: [2],
      drop: ["src2"],
      notes: [],
    });
  });

  it("refuses a connection that is not there", () => {
    expect(remove("p9").problems[0]?.message).toMatch(/no connection 'p9' \(it has 'p1', 'p2'\)/);
  });

  it("refuses dropDatabases for a hand-set filter naming what drop-databases refuses, before anything", () => {
    const t = {
      ...target,
      databases: ["src1", "we ird"],
      connections: [{ name: "p1", running: true, wildDoTable: "src1.%,we ird.%" }],
    };
    const r = remove("p1", { targetFacts: t }, true);
    expect(r.problems[0]?.message).toMatch(
      /'p1' filters "we ird", not database names Marina drops/,
    );
    expect(r.drop).toEqual([]);
  });

  it.each([0, 1])(
    "lower_case_table_names %i: a source's database the target holds in another case",
    (lctn) => {
      const t = { ...target, lowerCaseTableNames: lctn, databases: ["src1"] };
      const problems = checkAddSource(
        input({ ...sourceWith({ databases: ["Src1"] }, ["Src1"]), targetFacts: t }),
      );
      const refused = problems.some((p) => /db3 holds src1 already/.test(p.message));
      expect(refused).toBe(lctn > 0);
      const conn = { name: "p1", running: true, wildDoTable: "Src1.%" };
      const r = remove("p1", { targetFacts: { ...t, connections: [conn] } }, true);
      expect(r.drop).toEqual(lctn > 0 ? ["src1"] : []);
    },
  );

  it("refuses dropDatabases for a connection without a filter", () => {
    const t = { ...target, connections: [{ name: "p1", running: true, wildDoTable: "" }] };
    expect(remove("p1", { targetFacts: t }, true).problems[0]?.message).toMatch(
      /no database filter .*drop them by hand/,
    );
  });

  it.each([
    [
      "the source's primary cannot be read",
      { source: { cluster: "p2", primary: null, databases: null, facts: null } },
      /its domain is not known/,
    ],
    [
      "another source writes the domain",
      {
        attached: [
          {
            cluster: "p1",
            primary: "db1",
            databases: null,
            facts: facts({ gtidDomainId: 2 }),
          },
        ],
      },
      /another source writes domain 2/,
    ],
    [
      "another source's primary carries the domain in its binlog",
      {
        attached: [
          {
            cluster: "p1",
            primary: "db1",
            databases: null,
            facts: facts({ gtidDomainId: 1, gtidBinlogPos: "1-1-9,2-2-40" }),
          },
        ],
      },
      /the binlog of db1 carries domain 2/,
    ],
  ] as const)("keeps gtid_slave_pos when %s", (_what, over, note) => {
    const r = checkRemoveSource(
      input({
        source: {
          cluster: "p2",
          primary: "db2",
          databases: null,
          facts: facts({ gtidDomainId: 2 }),
        },
        ...(over as Partial<SourceChangeInput>),
      }),
      false,
    );
    expect(r.problems).toEqual([]);
    expect(r.domains).toEqual([]);
    expect(r.notes.join("\n")).toMatch(note);
  });
});

describe("the domains of an added source and gtid_slave_pos with domains replaced", () => {
  it.each([
    [[1, 2], [1, 2], { cluster: "p3", domainId: 3, gtid: "1-1-50,2-2-40,3-5-100" }, [3]],
    // A past only the added source has: its own.
    [[1, 2], [1, 2], { cluster: "p3", domainId: 3, gtid: "0-9-7,3-5-100" }, [0, 3]],
    // A past domain the target has already (an attached binlog, its gtid_slave_pos): never replaced.
    [[1, 2], [0, 1, 2], { cluster: "p3", domainId: 3, gtid: "0-9-7,3-5-100" }, [3]],
    [[1, 2], [1, 2, 4], { cluster: "p3", domainId: 3, gtid: "4-9-7,3-5-100" }, [3]],
    [[1, 2], [1, 2], { cluster: "p3", domainId: 3, gtid: "" }, [3]],
  ])("attached %j, taken %j, added %j → %j", (attached, taken, added, want) => {
    expect(addedSourceDomains(attached, taken, added)).toEqual(want);
  });

  it.each([
    ["1-1-50,2-2-40", "3-5-100", [3], "1-1-50,2-2-40,3-5-100"],
    ["1-1-50,2-2-40,3-5-10", "3-5-100", [3], "1-1-50,2-2-40,3-5-100"],
    ["1-1-50,2-2-40,3-5-100", "", [3], "1-1-50,2-2-40"],
    ["1-1-50,2-2-40", "1-1-999,3-5-100", [3], "1-1-50,2-2-40,3-5-100"],
    ["", "3-5-100", [3], "3-5-100"],
  ])("%s, %s in %j → %s", (current, pos, domains, want) => {
    expect(replaceDomains(current, pos, domains)).toBe(want);
  });
});

describe("the phases of add and remove", () => {
  const plan: ProvisionPlanInput = {
    target: "db3",
    home: "p1",
    targetHost: "h3",
    compression: { kind: "none" },
    verifyTimeoutMs: 1000,
    addSource: true,
    sources: [{ cluster: "p3", primary: "db5", host: "h5", databases: ["src3"], filtered: true }],
  };

  it("copies with the position as a comment, loaded beside the running connections", () => {
    const copy = provisionCopy(plan, 0, { address: "127.0.0.1", port: 4444 });
    expect(copy.calls.map((c) => c.action)).toEqual([
      expect.objectContaining({ action: "receive-backup", keep: true, addSource: true }),
      expect.objectContaining({ action: "send-backup", addSource: true, databases: ["src3"] }),
    ]);
  });

  it("attaches: domains replaced, then the connection, filter, start, verify; filters persisted", () => {
    const ph = addSourceAttach(plan, [3], "3-5-100");
    expect(ph.name).toBe("attach:p3");
    expect(ph.steps.map((s) => `${s.cluster}:${s.step.kind}`)).toEqual([
      "p1:replace-gtid-domains",
      "p3:change-master",
      "p3:set-replication-filter",
      "p3:start-replication",
      "p3:verify-replicating",
    ]);
    expect(ph.calls.map((c) => c.action)).toEqual([
      { action: "persist-replication-filters", server: "db3" },
    ]);
  });

  it.each([
    [[2], ["src2"], ["reset-replication", "replace-gtid-domains", "drop-databases"]],
    [[], [], ["reset-replication"]],
  ])("removes (domains %j, drop %j): %j", (domains, drop, kinds) => {
    const ph = removeSourceDetach({
      target: "db3",
      home: "p1",
      targetHost: "h3",
      cluster: "p2",
      domains,
      drop,
    });
    expect(ph.steps.map((s) => s.step.kind)).toEqual(kinds);
    expect(ph.calls.map((c) => c.action.action)).toEqual(["persist-replication-filters"]);
  });
});

describe("restartSourcePhase", () => {
  it("stops, starts and verifies only that source's connection, through its cluster", () => {
    const ph = restartSourcePhase({ target: "db3", cluster: "p2" }, 5000);
    expect(ph.name).toBe("restart:p2");
    expect(ph.steps.map((s) => [s.cluster, s.server, s.step])).toEqual([
      ["p2", "db3", { kind: "stop-replication", connection: "p2" }],
      ["p2", "db3", { kind: "start-replication", connection: "p2" }],
      ["p2", "db3", { kind: "verify-replicating", connection: "p2", timeoutMs: 5000 }],
    ]);
  });
});
