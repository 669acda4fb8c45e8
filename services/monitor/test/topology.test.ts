import {
  check,
  type HealthSample,
  ObservedTopology,
  type ReplicationConnection,
  type ServerObservation,
} from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ConfiguredServer,
  deriveTopology,
  linkState,
  resolveSource,
} from "../src/topology.js";
import { observationOf, recorded, sampleOf } from "./fixtures.js";

function conn(over: Partial<ReplicationConnection> = {}): ReplicationConnection {
  return {
    connection: "",
    masterHost: "127.0.0.1",
    masterPort: 3301,
    ioThread: "Yes",
    sqlThread: true,
    ioState: "Waiting for master to send event",
    sqlState: "",
    usingGtid: "Slave_Pos",
    gtidIoPos: "0-1-5",
    secondsBehindMaster: 0,
    lastIoErrno: 0,
    lastIoError: "",
    lastSqlErrno: 0,
    lastSqlError: "",
    heartbeatPeriodSec: 1,
    receivedHeartbeats: 3,
    quietMs: 100,
    relayLogSpace: 900,
    ...over,
  };
}

function obs(readOnly: boolean, replication: ReplicationConnection[] = []): ServerObservation {
  return {
    version: "10.11.19-MariaDB",
    serverId: 1,
    readOnly,
    logBin: true,
    logSlaveUpdates: true,
    gtidDomainId: 0,
    gtidStrictMode: true,
    gtidBinlogPos: "",
    gtidBinlogState: "",
    gtidCurrentPos: "",
    gtidSlavePos: "",
    semiSync: {
      masterEnabled: false,
      masterStatus: false,
      masterClients: 0,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10000,
    },
    replication,
    disk: [],
    clientConnections: 0,
  };
}

const servers: ConfiguredServer[] = [
  { name: "db1", host: "127.0.0.1", port: 3301 },
  { name: "db2", host: "127.0.0.1", port: 3302 },
  { name: "db3", host: "127.0.0.1", port: 3303 },
];

function topo(observations: Record<string, ServerObservation | null>) {
  const samples = new Map<string, HealthSample>();
  for (const s of servers) {
    if (!(s.name in observations)) continue;
    samples.set(s.name, sampleOf("main", s.name, s.host, s.port, observations[s.name] ?? null));
  }
  return deriveTopology({ cluster: "main", monitor: "m1", servers, samples });
}

function fromRecorded(name: "multi-source" | "semi-sync-broken", names: string[]) {
  const rec = recorded(name);
  const cfg = names.map((n) => ({
    name: n,
    host: rec.servers[n]!.host,
    port: rec.servers[n]!.port,
  }));
  const samples = new Map(
    names.map((n) => [
      n,
      sampleOf("main", n, rec.servers[n]!.host, rec.servers[n]!.port, observationOf(rec, n)),
    ]),
  );
  return deriveTopology({ cluster: "main", monitor: "m1", servers: cfg, samples });
}

describe("deriveTopology", () => {
  it("sees a primary with two replicas, one of them broken (recorded rows)", () => {
    const t = fromRecorded("semi-sync-broken", ["db1", "db2", "db3"]);
    expect(t).toMatchObject({
      primaries: ["db1"],
      replicas: ["db2", "db3"],
      relays: [],
      multiSource: [],
      writableReplicas: [],
      unreachable: [],
      standalone: [],
      unknownSources: [],
    });
    expect(t.links.map((l) => [l.replica, l.source, l.state])).toEqual([
      ["db2", "db1", "replicating"],
      ["db3", "db1", "broken"],
    ]);
    expect(t.brokenLinks).toHaveLength(1);
    expect(t.brokenLinks[0]!.reason).toMatch(/^SQL error 1062: .*Duplicate entry/);
  });

  it("sees the multi-source replica with two named connections (recorded rows)", () => {
    const t = fromRecorded("multi-source", ["db1", "db2", "db3"]);
    expect(t.primaries).toEqual(["db1", "db2"]);
    expect(t.replicas).toEqual(["db3"]);
    expect(t.multiSource).toEqual(["db3"]);
    expect(t.links.map((l) => [l.connection, l.source, l.state])).toEqual([
      ["p1", "db1", "replicating"],
      ["p2", "db2", "replicating"],
    ]);
  });

  it("sees a chain: the middle server is a relay", () => {
    const t = topo({
      db1: obs(false),
      db2: obs(true, [conn({ masterPort: 3301 })]),
      db3: obs(true, [conn({ masterPort: 3302 })]),
    });
    expect(t.primaries).toEqual(["db1"]);
    expect(t.replicas).toEqual(["db2", "db3"]);
    expect(t.relays).toEqual(["db2"]);
  });

  it("lists unreachable servers and keeps their replicas' links", () => {
    const t = topo({
      db1: null,
      db2: obs(true, [conn({ ioThread: "Connecting", lastIoErrno: 2003, lastIoError: "refused" })]),
      db3: obs(true, [conn()]),
    });
    expect(t.unreachable).toEqual(["db1"]);
    expect(t.primaries).toEqual([]);
    expect(t.links.map((l) => l.state)).toEqual(["connecting", "replicating"]);
    expect(t.links[0]!.reason).toBe("IO error 2003: refused");
  });

  it("flags writable replicas, standalone servers and unknown sources", () => {
    const t = topo({
      db1: obs(false),
      db2: obs(false, [conn({ masterHost: "10.9.9.9", masterPort: 3306 })]),
      db3: obs(true),
    });
    expect(t.writableReplicas).toEqual(["db2"]);
    expect(t.standalone).toEqual(["db3"]);
    expect(t.unknownSources).toEqual([{ host: "10.9.9.9", port: 3306 }]);
    expect(t.links[0]!.source).toBeNull();
  });

  it("does not count a stopped link as replication", () => {
    const t = topo({
      db1: obs(false, [conn({ masterPort: 3302, ioThread: "No", sqlThread: false })]),
      db2: obs(true),
    });
    expect(t.primaries).toEqual(["db1"]);
    expect(t.replicas).toEqual([]);
    expect(t.standalone).toEqual(["db2"]);
    expect(t.links[0]!.state).toBe("stopped");
  });

  it("leaves servers without a sample out of every list", () => {
    const t = topo({ db1: obs(false) });
    expect(t.primaries).toEqual(["db1"]);
    expect(JSON.stringify(t)).not.toContain("db2");
  });
});

describe("linkState", () => {
  it.each([
    [{}, "replicating"],
    [{ sqlThread: false, lastSqlErrno: 1062, lastSqlError: "dup" }, "broken"],
    [{ ioThread: "No" as const, lastIoErrno: 1236, lastIoError: "diverged" }, "broken"],
    [{ ioThread: "Connecting" as const, lastIoErrno: 2003 }, "connecting"],
    [{ ioThread: "Preparing" as const }, "connecting"],
    [{ ioThread: "No" as const, sqlThread: false }, "stopped"],
    [{ sqlThread: false }, "stopped"],
    [{ ioThread: "Connecting" as const, sqlThread: false, lastSqlErrno: 1062 }, "broken"],
  ])("%o is %s", (over, want) => {
    expect(linkState(conn(over)).state).toBe(want);
  });
});

describe("resolveSource", () => {
  it("matches host and port, treating loopback spellings alike", () => {
    expect(resolveSource(servers, "localhost", 3302)).toBe("db2");
    expect(resolveSource(servers, "127.0.0.1", 3303)).toBe("db3");
    expect(resolveSource(servers, "127.0.0.1", 9999)).toBeNull();
    expect(resolveSource(servers, "db.example", 3301)).toBeNull();
  });

  it("matches a server's replication address first (containers: an alias, the same port for all)", () => {
    const inContainers: ConfiguredServer[] = ["db1", "db2"].map((name, i) => ({
      name,
      host: "127.0.0.1",
      port: 20001 + i,
      replicationAddress: { host: name, port: 3306 },
    }));
    expect(resolveSource(inContainers, "db2", 3306)).toBe("db2");
    expect(resolveSource(inContainers, "DB1", 3306)).toBe("db1");
    expect(resolveSource(inContainers, "127.0.0.1", 20002)).toBe("db2");
    expect(resolveSource(inContainers, "db3", 3306)).toBeNull();
  });
});

describe("deriveTopology properties", () => {
  const connArb = fc.record({
    source: fc.integer({ min: 0, max: 3 }), // 3 = an unconfigured address
    ioThread: fc.constantFrom("Yes", "No", "Connecting", "Preparing"),
    sqlThread: fc.boolean(),
    lastIoErrno: fc.constantFrom(0, 2003, 1236),
    lastSqlErrno: fc.constantFrom(0, 1062),
  });
  const serverArb = fc.option(
    fc.record({ readOnly: fc.boolean(), conns: fc.array(connArb, { maxLength: 3 }) }),
    { nil: null },
  );

  it("always yields a valid, consistent topology", () => {
    fc.assert(
      fc.property(fc.array(serverArb, { minLength: 3, maxLength: 3 }), (specs) => {
        const observations: Record<string, ServerObservation | null> = {};
        specs.forEach((spec, i) => {
          observations[`db${i + 1}`] =
            spec === null
              ? null
              : obs(
                  spec.readOnly,
                  spec.conns.map((c, j) =>
                    conn({
                      connection: spec.conns.length > 1 ? `c${j}` : "",
                      masterPort: 3301 + c.source,
                      ioThread: c.ioThread,
                      sqlThread: c.sqlThread,
                      lastIoErrno: c.lastIoErrno,
                      lastSqlErrno: c.lastSqlErrno,
                    }),
                  ),
                );
        });
        const t = topo(observations);
        expect(check(ObservedTopology, t).ok).toBe(true);
        const reachable = servers.map((s) => s.name).filter((n) => observations[n] !== null);
        // Every reachable server is in at most one of primaries/replicas/standalone.
        for (const n of reachable) {
          const inLists = [t.primaries, t.replicas, t.standalone].filter((l) => l.includes(n));
          expect(inLists.length).toBeLessThanOrEqual(1);
        }
        for (const n of t.unreachable) expect(reachable).not.toContain(n);
        for (const r of t.relays) expect(t.replicas).toContain(r);
        for (const r of t.multiSource) expect(t.replicas).toContain(r);
        for (const r of t.writableReplicas) expect(t.replicas).toContain(r);
        for (const l of t.brokenLinks) expect(t.links).toContainEqual(l);
        expect(t.unreachable.length + reachable.length).toBe(3);
      }),
    );
  });
});
