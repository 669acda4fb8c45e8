import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  conn,
  Driver,
  eventsIn,
  healthyObservations,
  makeConfig,
  obs,
  okResult,
  situationsIn,
  stepsIn,
  summarize,
} from "./helpers.js";

// Diagnosis through decide(): each situation is reported once when it appears, with a reason.

function started(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  return { d, config, healthy };
}

describe("situations", () => {
  it("NoPrimaryKnown and SplitBrainRisk when two servers are writable at start", () => {
    const config = makeConfig();
    const d = new Driver(config);
    const h = healthyObservations(config);
    const a = d.round({ ...h, db2: { ...h.db2!, readOnly: false, replication: [] } });
    expect(situationsIn(a)).toEqual(["SplitBrainRisk", "NoPrimaryKnown"]);
    expect(eventsIn(a)[1]?.reason).toMatch(/several writable servers: db1, db2/);
    expect(a.filter((x) => x.kind === "topology")).toEqual([]);
    expect(d.state.primary).toBeNull();
  });

  it("does not report NoPrimaryKnown before every server was sampled once", () => {
    const config = makeConfig();
    const d = new Driver(config);
    const h = healthyObservations(config);
    expect(d.health("db1", h.db1!)).toEqual([]);
    expect(d.health("db2", h.db2!)).toEqual([]);
    expect(situationsIn(d.health("db3", h.db3!))).toEqual(["PrimaryHealthy db1"]);
  });

  it("ReplicaLagging, ReplicaBroken, ReplicaUnreachable, each once", () => {
    const { d, config, healthy } = started();
    const lag: ServerObservation = {
      ...healthy.db2!,
      replication: [conn(config, "db1", { gtidIoPos: "0-1-100", secondsBehindMaster: 95 })],
    };
    const broken: ServerObservation = {
      ...healthy.db3!,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          sqlThread: false,
          lastSqlErrno: 1062,
          lastSqlError: "Duplicate entry '7' for key 'PRIMARY'",
        }),
      ],
    };
    const a = [
      ...d.health("db2", lag),
      ...d.health("db3", broken),
      ...d.health("db2", lag),
      ...d.health("db3", broken),
    ];
    expect(situationsIn(a)).toEqual(["ReplicaLagging db2", "ReplicaBroken db3"]);
    expect(eventsIn(a)[0]?.reason).toMatch(/95 s behind \(max 30\)/);
    expect(eventsIn(a)[1]?.reason).toMatch(/error 1062: Duplicate entry/);
    d.advance(100);
    expect(situationsIn(d.health("db3", null))).toEqual(["ReplicaUnreachable db3"]);
    expect(situationsIn(d.health("db3", null))).toEqual([]);
  });

  it("an IO thread that cannot connect to a reachable primary is a broken link", () => {
    const { d, config, healthy } = started();
    const a = d.health("db2", {
      ...healthy.db2!,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          ioThread: "Connecting",
          lastIoErrno: 1045,
          lastIoError: "Access denied for user 'repl'",
        }),
      ],
    });
    expect(situationsIn(a)).toEqual(["ReplicaBroken db2"]);
    expect(eventsIn(a)[0]?.reason).toMatch(/IO thread Connecting while db1 is reachable .*1045/);
  });

  it("ReplicaWritable: read_only is set back when failover.enforceReadOnly", () => {
    const { d, healthy } = started();
    d.advance(100);
    const a = d.health("db3", { ...healthy.db3!, readOnly: false });
    expect(situationsIn(a)).toEqual(["SplitBrainRisk", "ReplicaWritable db3"]);
    // One fence step (no kill for a replica: its readers stay), under its own id.
    const [fence, ...others] = stepsIn(a);
    expect(others).toEqual([]);
    expect(fence?.request).toMatchObject({
      server: "db3",
      stepId: `${fence?.request.opId}-fence`,
      step: { kind: "fence", kill: "none" },
    });
    expect(fence?.reason).toMatch(/^replica is writable: fence/);
    const data = { readOnly: true, previous: { readOnly: false, master: false }, changed: true };
    expect(stepsIn(d.result(fence!, okResult(fence!.request.stepId, data)))).toEqual([]);
    expect(d.state.readOnly.db3).toEqual({ readOnly: true, at: d.now, by: "step", pending: false });
    // Not sent again at once while the fix is in flight.
    d.advance(100);
    expect(stepsIn(d.health("db3", { ...healthy.db3!, readOnly: false }))).toEqual([]);
    // Still writable after enforceRetryMs (5 s): sent again.
    d.advance(5200);
    expect(stepsIn(d.health("db3", { ...healthy.db3!, readOnly: false })).map(summarize)).toEqual([
      "step db3 fence kill=none",
    ]);
  });

  it("a writable server is fenced even while an operation runs, if the operation does not touch it", () => {
    const { d, healthy } = started();
    const a = d.command("switchover", { target: "db2" });
    expect(stepsIn(a).map((x) => x.request.server)).toEqual(["db1"]);
    d.advance(10);
    const b = d.health("db3", { ...healthy.db3!, readOnly: false });
    const fix = stepsIn(b);
    expect(fix.map(summarize)).toEqual(["step db3 fence kill=none"]);
    expect(fix[0]?.request.opId).not.toBe("op1");
    // Its answer ends it: nothing else is sent, and the switchover is left alone.
    expect(d.result(fix[0]!, okResult(fix[0]!.request.stepId)).map(summarize)).toEqual([]);
    expect(d.state.readOnly.db3).toMatchObject({ readOnly: true, by: "step" });
    expect(d.state.operation).toMatchObject({ opId: "op1", kind: "switchover", phase: "demote" });
  });

  it("ReplicaWritable is only reported when enforceReadOnly is off", () => {
    const { d, healthy } = started({ failover: { enforceReadOnly: false } });
    const a = d.health("db3", { ...healthy.db3!, readOnly: false });
    expect(situationsIn(a)).toEqual(["SplitBrainRisk", "ReplicaWritable db3"]);
    expect(eventsIn(a)[1]?.reason).toMatch(/enforceReadOnly is off/);
    expect(stepsIn(a)).toEqual([]);
  });

  it("ServerDiverged: a replica applied a transaction the primary never had", () => {
    const { d, healthy } = started();
    const a = d.health("db3", {
      ...healthy.db3!,
      gtidCurrentPos: "0-3-101",
      gtidBinlogPos: "0-3-101",
    });
    const e = eventsIn(a).find((x) => x.situation === "ServerDiverged");
    expect(e).toMatchObject({ server: "db3", extraGtids: "0-3-101" });
  });

  it("a replica ahead of the primary's older sample is NOT diverged (sample skew)", () => {
    const { d, healthy } = started();
    const a = d.health("db3", {
      ...healthy.db3!,
      gtidCurrentPos: "0-1-104",
      gtidBinlogPos: "0-1-104",
    });
    expect(situationsIn(a)).toEqual([]);
  });

  it("PrimaryUnreachableSeenByReplicas while the monitor's failures are below the bound", () => {
    const { d, config, healthy } = started({ failover: { failuresBeforeDead: 3 } });
    const lost = (o: ServerObservation) => ({
      ...o,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          ioThread: "Connecting" as const,
          secondsBehindMaster: null,
        }),
      ],
    });
    d.advance(500);
    const a = [
      ...d.health("db1", null, { failures: 1 }),
      ...d.health("db2", lost(healthy.db2!)),
      ...d.health("db3", lost(healthy.db3!)),
    ];
    expect(situationsIn(a)).toEqual(["PrimaryUnreachableSeenByReplicas db1"]);
    expect(eventsIn(a)[0]?.reason).toMatch(/waiting for 3 consecutive failures \(m1: 1\)/);
    expect(stepsIn(a)).toEqual([]);
    const b = d.health("db1", null, { failures: 3 });
    expect(situationsIn(b)).toContain("PrimaryDead db1");
    expect(stepsIn(b).length).toBeGreaterThan(0);
  });

  it("says nothing while the replicas were last sampled before the monitor lost the primary", () => {
    const { d, healthy } = started();
    d.advance(500);
    const a = d.health("db1", null);
    expect(a).toEqual([]);
    expect(d.state.situations.db1).toEqual(["PrimaryHealthy"]);
    // A replica sampled since still hears it: only the monitor lost it.
    d.advance(5);
    const b = d.health("db2", healthy.db2!);
    expect(situationsIn(b)).toEqual(["PrimaryUnreachableByMonitor db1"]);
    expect(eventsIn(b)[0]?.reason).toMatch(/replicas still hear it: db2 .*db3/);
  });

  it("PrimaryDeadNoCandidate when every replica is excluded", () => {
    const config = makeConfig({
      servers: [
        { name: "db1" },
        { name: "db2", neverPromote: true },
        { name: "db3", neverPromote: true },
      ],
    });
    const d = new Driver(config);
    const healthy = healthyObservations(config);
    d.round(healthy);
    const lost = (o: ServerObservation) => ({
      ...o,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          ioThread: "Connecting" as const,
          secondsBehindMaster: null,
        }),
      ],
    });
    d.advance(500);
    const a = [
      ...d.health("db1", null),
      ...d.health("db2", lost(healthy.db2!)),
      ...d.health("db3", lost(healthy.db3!)),
    ];
    expect(situationsIn(a)).toEqual(
      expect.arrayContaining(["PrimaryDead db1", "PrimaryDeadNoCandidate db1"]),
    );
    expect(eventsIn(a).find((e) => e.situation === "PrimaryDeadNoCandidate")?.reason).toMatch(
      /neverPromote/,
    );
    expect(stepsIn(a)).toEqual([]);
  });

  it("FailoverBlocked for requireSemiSync and for a primary in maintenance, with reasons", () => {
    for (const [over, pre, why] of [
      [{ failover: { requireSemiSync: true } }, [], /semi-sync was not in sync/],
      [{}, ["set-maintenance"], /db1 is in maintenance/],
      [{ failover: { auto: false } }, [], /failover.auto is false/],
    ] as const) {
      const { d, config, healthy } = started(over);
      if (pre.length) d.command("set-maintenance", { server: "db1" });
      const lost = (o: ServerObservation) => ({
        ...o,
        replication: [
          conn(config, "db1", {
            gtidIoPos: "0-1-100",
            ioThread: "Connecting" as const,
            secondsBehindMaster: null,
          }),
        ],
      });
      d.advance(500);
      const a = [
        ...d.health("db1", null),
        ...d.health("db2", lost(healthy.db2!)),
        ...d.health("db3", lost(healthy.db3!)),
      ];
      expect(eventsIn(a).find((e) => e.situation === "FailoverBlocked")?.reason).toMatch(why);
      expect(stepsIn(a)).toEqual([]);
    }
  });

  it("every event carries the leader epoch and the situation's actionable flag", () => {
    const { d, healthy } = started();
    d.epoch = 7;
    const a = d.health("db3", { ...healthy.db3!, readOnly: false });
    for (const e of eventsIn(a)) {
      expect(e.epoch).toBe(7);
      expect(e.actionable).toBe(
        e.situation === "ReplicaWritable" || e.situation === "SplitBrainRisk",
      );
    }
    expect(stepsIn(a).every((s) => s.request.epoch === 7)).toBe(true);
    void obs;
  });
});
