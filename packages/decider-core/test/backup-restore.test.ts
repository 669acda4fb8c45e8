// restore-backup's pure parts (backup/): the checks (each problem naming its fix), the
// filter patterns back to databases, the attach (the primaries NOW, the manifest's position,
// only the connections that ran started) and the dry-run reports.
import { type BackupConnection, type BackupManifest, DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  backupAcceptedReport,
  checkRestore,
  databasesOfFilter,
  type RestoreInput,
  repointPlan,
  restoreAcceptedReport,
  restoreAttach,
  restoreDatadir,
} from "../src/index.js";
import { makeConfig } from "./helpers.js";

function conn(over: Partial<BackupConnection> = {}): BackupConnection {
  return {
    name: "p1",
    cluster: "p1",
    source: "db1",
    masterHost: "127.0.0.1",
    masterPort: 3301,
    wildDoTables: ["src1.%"],
    sqlRunning: true,
    ioRunning: true,
    gtidIoPos: "1-1-10",
    ...over,
  };
}

function manifest(over: Partial<BackupManifest> = {}): BackupManifest {
  return {
    version: 1,
    id: "20261205T154210Z",
    server: "db3",
    startedAt: "2026-12-05T15:42:10.000Z",
    endedAt: "2026-12-05T15:42:12.000Z",
    gtidSlavePos: "1-1-10,2-2-20",
    domains: { "1": "1-1-10", "2": "2-2-20" },
    gtidBinlogPos: "1-1-10,2-2-20",
    connections: [
      conn(),
      conn({
        name: "p2",
        cluster: "p2",
        source: "db2",
        masterPort: 3302,
        wildDoTables: ["src2.%"],
      }),
    ],
    bytes: 1000,
    slaveInfo: "SET GLOBAL gtid_slave_pos = '1-1-10,2-2-20';",
    ...over,
  };
}

function input(over: Partial<RestoreInput> = {}): RestoreInput {
  return {
    server: "db3",
    home: "p1",
    host: "agent-db3",
    manifest: manifest(),
    clusters: {
      p1: { listsServer: true, primary: "db1" },
      p2: { listsServer: true, primary: "db2" },
    },
    primaries: { p1: "db1", p2: "db2" },
    verifyTimeoutMs: 30_000,
    limitMs: 3600_000,
    ...over,
  };
}

describe("databasesOfFilter", () => {
  it.each([
    [[], []],
    [["src1.%"], ["src1"]],
    [
      ["my\\_db.%", "b.%"],
      ["my_db", "b"],
    ],
    [["my_db.%"], ["my_db"]],
    [["src1.t%"], null],
    [["src1.t"], null],
    [["%.%"], null],
  ] as const)("%j → %j", (patterns, want) => {
    expect(databasesOfFilter(patterns)).toEqual(want);
  });
});

describe("checkRestore", () => {
  it("accepts a manifest whose clusters list the server and have primaries", () => {
    expect(checkRestore(input())).toEqual([]);
  });

  it.each([
    [
      "another server's backup",
      input({ manifest: manifest({ server: "db4" }) }),
      /backup 20261205T154210Z is of db4, not of db3/,
    ],
    [
      "a connection to no configured server",
      input({ manifest: manifest({ connections: [conn({ cluster: null, source: null })] }) }),
      /connection 'p1' pointed at 127\.0\.0\.1:3301, a server of no configured cluster/,
    ],
    [
      "a cluster that does not list the server",
      input({
        clusters: {
          p1: { listsServer: false, primary: "db1" },
          p2: { listsServer: true, primary: "db2" },
        },
      }),
      /follows cluster p1, which is not configured here or does not list db3: add db3/,
    ],
    [
      "a cluster not configured at all",
      input({ clusters: { p1: { listsServer: true, primary: "db1" } } }),
      /follows cluster p2, which is not configured here/,
    ],
    [
      "a source cluster without a primary",
      input({
        clusters: {
          p1: { listsServer: true, primary: null },
          p2: { listsServer: true, primary: "db2" },
        },
      }),
      /cluster p1 has no known primary: wait/,
    ],
    [
      "the server is a source's primary now",
      input({
        clusters: {
          p1: { listsServer: true, primary: "db3" },
          p2: { listsServer: true, primary: "db2" },
        },
      }),
      /db3 is the primary of p1 now: a primary is never restored/,
    ],
    [
      "the server is the primary of a cluster listing it that no connection names",
      input({ primaries: { p1: "db1", p2: "db2", p9: "db3" } }),
      /db3 is the primary of p9 now/,
    ],
    [
      "a manifest without connections of a server that is a primary now",
      input({ manifest: manifest({ connections: [] }), clusters: {}, primaries: { p1: "db3" } }),
      /db3 is the primary of p1 now/,
    ],
    [
      "a connection that was stopped at the backup",
      input({ manifest: manifest({ connections: [conn({ sqlRunning: false })] }) }),
      /connection 'p1' was not running at the backup \(IO on, SQL off\): a restore would leave it half-attached/,
    ],
    [
      "a filter that is not whole databases",
      input({ manifest: manifest({ connections: [conn({ wildDoTables: ["src1.t%"] })] }) }),
      /filter src1\.t% is not whole databases/,
    ],
  ])("refuses %s", (_what, i, message) => {
    const problems = checkRestore(i);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(message);
  });
});

describe("restore plan", () => {
  it("the agent replaces the datadir with the named backup", () => {
    const ph = restoreDatadir(input());
    expect(ph.calls.map((c) => [c.host, c.action])).toEqual([
      [
        "agent-db3",
        { action: "restore-backup", server: "db3", id: "20261205T154210Z", limitMs: 3600_000 },
      ],
    ]);
  });

  it("re-attaches each connection to its cluster's primary NOW, at the manifest's position, with its filter", () => {
    // p1 failed over to db4 since the backup.
    const ph = restoreAttach(
      input({
        clusters: {
          p1: { listsServer: true, primary: "db4" },
          p2: { listsServer: true, primary: "db2" },
        },
      }),
    );
    expect(ph.steps.map((s) => [s.key, s.cluster, s.step])).toEqual([
      ["ro", "p1", { kind: "set-read-only", readOnly: true }],
      ["reset-default", "p1", { kind: "reset-replication", connection: "" }],
      ["reset-p1", "p1", { kind: "reset-replication", connection: "p1" }],
      ["reset-p2", "p1", { kind: "reset-replication", connection: "p2" }],
      ["pos", "p1", { kind: "set-gtid-slave-pos", pos: "1-1-10,2-2-20" }],
      [
        "change-p1",
        "p1",
        { kind: "change-master", connection: "p1", source: "db4", useGtid: "slave_pos" },
      ],
      [
        "filter-p1",
        "p1",
        { kind: "set-replication-filter", connection: "p1", databases: ["src1"] },
      ],
      [
        "change-p2",
        "p2",
        { kind: "change-master", connection: "p2", source: "db2", useGtid: "slave_pos" },
      ],
      [
        "filter-p2",
        "p2",
        { kind: "set-replication-filter", connection: "p2", databases: ["src2"] },
      ],
      ["start-p1", "p1", { kind: "start-replication", connection: "p1" }],
      ["verify-p1", "p1", { kind: "verify-replicating", connection: "p1", timeoutMs: 30_000 }],
      ["start-p2", "p2", { kind: "start-replication", connection: "p2" }],
      ["verify-p2", "p2", { kind: "verify-replicating", connection: "p2", timeoutMs: 30_000 }],
    ]);
    expect(ph.message).toBe("db3 at 1-1-10,2-2-20: 'p1' from db4 (p1), 'p2' from db2 (p2)");
  });

  it("no filter step without a filter; a connection stopped at the backup is made again but not started", () => {
    const ph = restoreAttach(
      input({
        manifest: manifest({
          connections: [
            conn({ wildDoTables: [] }),
            conn({ name: "p2", cluster: "p2", sqlRunning: false, ioRunning: false }),
          ],
        }),
      }),
    );
    const keys = ph.steps.map((s) => s.key);
    expect(keys).not.toContain("filter-p1");
    expect(keys).toContain("change-p2");
    expect(keys).toContain("filter-p2");
    expect(keys).not.toContain("start-p2");
    expect(keys.filter((k) => k.startsWith("start-"))).toEqual(["start-p1"]);
  });
});

describe("repointPlan", () => {
  it("each connection following a cluster: CHANGE MASTER to its primary now, then filter, start, verify", () => {
    const r = repointPlan("db3", manifest().connections, { p1: "db1b", p2: "db2" }, 30_000);
    expect(r.problems).toEqual([]);
    expect(r.repoints.map((x) => [x.cluster, x.change.step])).toEqual([
      ["p1", { kind: "change-master", connection: "p1", source: "db1b", useGtid: "slave_pos" }],
      ["p2", { kind: "change-master", connection: "p2", source: "db2", useGtid: "slave_pos" }],
    ]);
    expect(r.repoints[0]!.after.map((s) => s.key)).toEqual(["filter-p1", "start-p1", "verify-p1"]);
  });

  it("a source cluster without a primary, or with the server as its primary, is a problem", () => {
    const r = repointPlan("db3", manifest().connections, { p1: null, p2: "db3" }, 30_000);
    expect(r.repoints).toEqual([]);
    expect(r.problems.join("; ")).toMatch(
      /cluster p1 has no known primary now.*cluster p2 has db3 as its primary/,
    );
  });
});

describe("dry-run reports", () => {
  const config = makeConfig();
  const configOf = () => config;

  it("restore: the restore phase known, the attach built on it", () => {
    const r = DryRunReport.parse(restoreAcceptedReport(input(), "test", configOf));
    expect(r.outcome).toBe("accepted");
    expect(r.operation?.kind).toBe("restore");
    expect(r.operation?.phases.map((p) => [p.name, p.known])).toEqual([
      ["restore", true],
      ["attach", false],
    ]);
    expect(r.operation?.phases[0]?.agentCalls[0]?.programs.join("\n")).toMatch(
      /mariadb-backup --prepare/,
    );
    // The agent itself makes the restored server read-only, not its my.cnf.
    expect(r.operation?.phases[0]?.agentCalls[0]?.programs.at(-1)).toMatch(/read_only = 1/);
    expect(r.assumptions.join("\n")).toMatch(/the agent sets read_only=1 .* before it answers/);
  });

  it("backup: one agent call on the server's host", () => {
    const action = {
      action: "take-backup" as const,
      server: "db3",
      sources: [],
      limitMs: 3600_000,
    };
    const r = DryRunReport.parse(
      backupAcceptedReport("db3", "agent-db3", action, "test", configOf),
    );
    expect(r.operation?.phases.map((p) => p.agentCalls.map((c) => c.action.action))).toEqual([
      ["take-backup"],
    ]);
    expect(r.operation?.phases[0]?.agentCalls[0]?.programs.join("\n")).toMatch(/SQL_THREAD/);
  });
});
