// provision-replica's pure parts (provision/): the checks (each problem found, each naming
// its fix), the sources' own GTID domains and the target's gtid_slave_pos, the plan's phases
// and the dry-run report.
import type { ProvisionFacts } from "@marina/contracts";
import { DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  checkProvision,
  databasesOf,
  ownDomains,
  type ProvisionCheckInput,
  type ProvisionPlanInput,
  provisionAcceptedReport,
  provisionAttach,
  provisionCopy,
  provisionedSlavePos,
  provisionPrepare,
  type SourcePosition,
} from "../src/index.js";
import { makeConfig } from "./helpers.js";

function facts(over: Partial<ProvisionFacts> = {}): ProvisionFacts {
  return {
    logBin: true,
    binlogFormat: "ROW",
    serverId: 1,
    gtidDomainId: 1,
    gtidBinlogPos: "1-1-100",
    readOnly: false,
    databases: ["app1"],
    nonInnodb: [],
    replicationAccount: true,
    connections: [],
    ...over,
  };
}

function input(over: Partial<ProvisionCheckInput> = {}): ProvisionCheckInput {
  return {
    target: "db3",
    targetFacts: facts({ serverId: 3, gtidDomainId: 0, databases: [], readOnly: true }),
    sources: [
      { cluster: "c1", primary: "db1", databases: null, facts: facts() },
      {
        cluster: "c2",
        primary: "db2",
        databases: null,
        facts: facts({
          serverId: 2,
          gtidDomainId: 2,
          gtidBinlogPos: "2-2-50",
          databases: ["app2"],
        }),
      },
    ],
    overwrite: false,
    replicationUser: "repl",
    homePrimary: "db1",
    promotableIn: [],
    ...over,
  };
}

type Change = (i: ProvisionCheckInput) => void;
const src = (i: ProvisionCheckInput, n: number) => i.sources[n]!;
const factsOf = (i: ProvisionCheckInput, n: number) => src(i, n).facts!;

const cases: { what: string; change: Change; problems: RegExp[]; paths?: string[] }[] = [
  { what: "two fit sources, an empty target", change: () => {}, problems: [] },
  {
    what: "a source without binlog",
    change: (i) => {
      factsOf(i, 1).logBin = false;
    },
    problems: [/db2 \(primary of c2\) has no binary log: set log_bin/],
    paths: ["sources.1.cluster"],
  },
  {
    what: "databases named on a source logging MIXED (the filter judges tables, not the default database)",
    change: (i) => {
      src(i, 0).databases = ["app1"];
      factsOf(i, 0).binlogFormat = "MIXED";
    },
    problems: [],
  },
  {
    what: "colliding GTID domains",
    change: (i) => {
      factsOf(i, 1).gtidDomainId = 1;
    },
    problems: [/both write in gtid_domain_id 1: .*give one cluster another gtid_domain_id/],
    paths: ["sources.1.cluster"],
  },
  {
    what: "colliding server ids",
    change: (i) => {
      factsOf(i, 1).serverId = 1;
    },
    problems: [/share server_id 1: give one another server_id/],
  },
  {
    what: "the target shares a source's server id",
    change: (i) => {
      i.targetFacts!.serverId = 2;
    },
    problems: [/db3 and db2 \(c2\) share server_id 2: a replica ignores events/],
    paths: ["target"],
  },
  {
    what: "a MyISAM table to copy",
    change: (i) => {
      factsOf(i, 0).nonInnodb = [{ table: "app1.log", engine: "MyISAM" }];
    },
    problems: [
      /app1\.log \(MyISAM\) not InnoDB — a copy without locks needs .* would need a read lock .*ENGINE=InnoDB.*sources\[0\]\.databases/,
    ],
    paths: ["sources.0.databases"],
  },
  {
    what: "a missing replication account",
    change: (i) => {
      factsOf(i, 0).replicationAccount = false;
    },
    problems: [/no replication account 'repl': create it/],
  },
  {
    what: "a replication account the agent may not read (unknown: no refusal)",
    change: (i) => {
      factsOf(i, 0).replicationAccount = null;
    },
    problems: [],
  },
  {
    what: "a database asked for that the source lacks",
    change: (i) => {
      src(i, 0).databases = ["app1", "nope"];
    },
    problems: [/has no database nope: name databases it has \(app1\)/],
    paths: ["sources.0.databases"],
  },
  {
    what: "one database from two sources",
    change: (i) => {
      factsOf(i, 1).databases = ["app1", "app2"];
    },
    problems: [/app1 would come from both c1 and c2: take each database from one source only/],
  },
  {
    what: "a source with nothing but system schemas",
    change: (i) => {
      factsOf(i, 1).databases = [];
    },
    problems: [/has no database besides the system schemas/],
  },
  {
    what: "a target that is not empty, without overwrite",
    change: (i) => {
      i.targetFacts!.databases = ["old"];
      i.targetFacts!.connections = [{ name: "x", running: false }];
    },
    problems: [
      /db3 is not empty \(databases old\): empty it, or send overwrite: true/,
      /db3 has replication connections \('x'\): send overwrite: true/,
    ],
    paths: ["overwrite", "overwrite"],
  },
  {
    what: "a target that is not empty, with overwrite",
    change: (i) => {
      i.overwrite = true;
      i.targetFacts!.databases = ["old"];
    },
    problems: [],
  },
  {
    what: "a source cluster named twice",
    change: (i) => {
      src(i, 1).cluster = "c1";
    },
    problems: [/cluster c1 is named twice/],
  },
  {
    what: "a source cluster without a primary",
    change: (i) => {
      src(i, 1).primary = null;
    },
    problems: [/c2 has no known primary/],
  },
  {
    what: "the target is a source's primary",
    change: (i) => {
      src(i, 1).primary = "db3";
    },
    problems: [/db3 is the primary of c2: a source cannot be its own replica/],
  },
  {
    what: "the target is its own cluster's primary (refused even with overwrite)",
    change: (i) => {
      i.homePrimary = "db3";
      i.overwrite = true;
    },
    problems: [/db3 is the primary of its cluster: provisioning would drop its databases/],
    paths: ["target"],
  },
  {
    what: "a writable target (refused even with overwrite)",
    change: (i) => {
      i.targetFacts!.readOnly = false;
      i.overwrite = true;
    },
    problems: [/db3 is writable \(read_only=0\)/],
  },
  {
    what: "a target that may be promoted in a source cluster",
    change: (i) => {
      i.promotableIn = ["c1", "c2"];
    },
    problems: [/db3 may be promoted in c1, c2: .*set promotion: never for db3 in c1 and c2/],
  },
  {
    what: "a system schema named as a database to copy",
    change: (i) => {
      src(i, 0).databases = ["app1", "mysql"];
      factsOf(i, 0).databases = ["app1", "mysql"];
    },
    problems: [/mysql belong to the server, not to an application/],
    paths: ["sources.0.databases"],
  },
  {
    what: "a source that could not be read",
    change: (i) => {
      src(i, 0).facts = null;
    },
    problems: [/db1 \(c1\) could not be read/],
  },
];

describe("checkProvision", () => {
  for (const c of cases) {
    it(c.what, () => {
      const i = structuredClone(input());
      c.change(i);
      const found = checkProvision(i);
      expect(found.map((p) => p.message)).toHaveLength(c.problems.length);
      c.problems.forEach((re, n) => {
        expect(found[n]?.message).toMatch(re);
      });
      if (c.paths) expect(found.map((p) => p.path)).toEqual(c.paths);
    });
  }

  it("takes every non-system database when none are named", () => {
    const s = {
      cluster: "c1",
      primary: "db1",
      databases: null,
      facts: facts({ databases: ["a", "mysql", "b", "sys"] }),
    };
    expect(databasesOf(s)).toEqual(["a", "b"]);
    expect(databasesOf({ ...s, databases: ["a"] })).toEqual(["a"]);
  });
});

describe("the target's gtid_slave_pos: each source's own domains", () => {
  const table: {
    what: string;
    sources: SourcePosition[];
    pos: string;
    own?: Record<string, number[]>;
  }[] = [
    {
      what: "one domain each",
      sources: [
        { cluster: "c1", domainId: 1, gtid: "1-1-100" },
        { cluster: "c2", domainId: 2, gtid: "2-2-50" },
      ],
      pos: "1-1-100,2-2-50",
    },
    {
      what: "a source carrying the other's domain (replicated once) gives only its own",
      sources: [
        { cluster: "c1", domainId: 1, gtid: "1-1-100" },
        { cluster: "c2", domainId: 2, gtid: "1-1-7,2-2-50" },
      ],
      pos: "1-1-100,2-2-50",
      own: { c1: [1], c2: [2] },
    },
    {
      what: "an old domain of a cluster's own history stays with it",
      sources: [
        { cluster: "c1", domainId: 1, gtid: "0-1-9,1-1-100" },
        { cluster: "c2", domainId: 2, gtid: "2-2-50" },
      ],
      pos: "0-1-9,1-1-100,2-2-50",
      own: { c1: [0, 1], c2: [2] },
    },
    {
      what: "a domain both carry that neither writes (a shared past): the furthest",
      sources: [
        { cluster: "c1", domainId: 1, gtid: "0-9-3,1-1-100" },
        { cluster: "c2", domainId: 2, gtid: "0-9-5,2-2-50" },
      ],
      pos: "0-9-5,1-1-100,2-2-50",
    },
    {
      what: "a source with no transactions yet",
      sources: [
        { cluster: "c1", domainId: 1, gtid: "" },
        { cluster: "c2", domainId: 2, gtid: "2-2-50" },
      ],
      pos: "2-2-50",
    },
  ];
  for (const c of table) {
    it(c.what, () => {
      expect(provisionedSlavePos(c.sources)).toBe(c.pos);
      if (c.own) expect(Object.fromEntries(ownDomains(c.sources))).toEqual(c.own);
    });
  }
});

describe("the plan", () => {
  const plan: ProvisionPlanInput = {
    target: "db3",
    home: "c1",
    targetHost: "h3",
    compression: { kind: "none" },
    verifyTimeoutMs: 30_000,
    sources: [
      { cluster: "c1", primary: "db1", host: "h1", databases: ["app1"], filtered: true },
      { cluster: "c2", primary: "db2", host: "h2", databases: ["app2", "crm"], filtered: false },
    ],
  };

  it("prepares the target read-only through its own cluster", () => {
    expect(provisionPrepare(plan).steps).toEqual([
      { key: "ro", cluster: "c1", server: "db3", step: { kind: "set-read-only", readOnly: true } },
    ]);
  });

  it("wipes with the first copy only, dumps only the databases taken", () => {
    const to = { address: "10.0.0.3", port: 4444 };
    const [r0, s0] = provisionCopy(plan, 0, to).calls;
    const [r1, s1] = provisionCopy(plan, 1, to).calls;
    expect(r0).toMatchObject({
      host: "h3",
      action: { action: "receive-backup", method: "logical" },
    });
    expect(r0?.action).not.toHaveProperty("keep");
    expect(r1?.action).toMatchObject({ keep: true, databases: ["app2", "crm"] });
    expect(s0).toMatchObject({
      host: "h1",
      server: "db1",
      action: { action: "send-backup", method: "logical", databases: ["app1"], to },
    });
    expect(s1).toMatchObject({ host: "h2", server: "db2" });
  });

  it("attaches: default connection dropped, position, one named connection per source through its cluster, a filter only where databases were named", () => {
    const steps = provisionAttach(plan, "1-1-100,2-2-50").steps;
    expect(steps.map((s) => `${s.key}@${s.cluster}`)).toEqual([
      "reset-default@c1",
      "pos@c1",
      "change-c1@c1",
      "filter-c1@c1",
      "change-c2@c2",
      "start-c1@c1",
      "verify-c1@c1",
      "start-c2@c2",
      "verify-c2@c2",
    ]);
    expect(steps.find((s) => s.key === "change-c2")?.step).toEqual({
      kind: "change-master",
      connection: "c2",
      source: "db2",
      useGtid: "slave_pos",
    });
    expect(steps.find((s) => s.key === "filter-c1")?.step).toEqual({
      kind: "set-replication-filter",
      connection: "c1",
      databases: ["app1"],
    });
  });

  it("dry-run report: valid, every phase listed, SQL and programs filled in", () => {
    const config = makeConfig();
    const r = provisionAcceptedReport(plan, "1-1-100,2-2-50", "why", () => config, "10.0.0.3");
    expect(DryRunReport.parse(r)).toEqual(r);
    const phases = r.operation?.phases ?? [];
    expect(phases.map((p) => [p.name, p.known])).toEqual([
      ["prepare", true],
      ["copy:c1", false],
      ["copy:c2", false],
      ["attach", false],
    ]);
    const filter = phases[3]?.steps.find((s) => s.key === "filter-c1");
    expect(filter?.sql).toEqual([
      "STOP SLAVE 'c1'",
      "SET SESSION default_master_connection = 'c1'",
      "SET GLOBAL replicate_wild_do_table = 'app1.%'",
    ]);
    expect(phases[1]?.agentCalls[1]?.programs[0]).toMatch(
      /^mariadb-dump --databases app1 --single-transaction --gtid --master-data/,
    );
    expect(phases[2]?.agentCalls[0]?.programs).toHaveLength(1);
  });
});
