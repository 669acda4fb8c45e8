import { parseGtidList, positionOf, type ServerObservation, union } from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Action, decide, freshMs, type Input } from "../src/index.js";
import {
  conn,
  Driver,
  errResult,
  eventsIn,
  healthyObservations,
  heartbeat,
  makeConfig,
  okResult,
  opEventsIn,
  type StepAction,
  situationsIn,
  stepsIn,
  summarize,
  T0,
  topologiesIn,
} from "./helpers.js";
import { World } from "./world.js";

// restore-writes.ts: with read_only=ON in every my.cnf, a restarted server never comes back
// writable by itself. When the one that restarts is the primary Marina holds authoritative,
// Marina turns writes back on — only when no other server may be writable, none has received
// a transaction the primary lacks, it is not in maintenance, no operation runs, and (with
// semiSync) a semi-sync replica is connected: [set-semi-sync master:true →] set-read-only
// false, each step after the previous one answered ok. A former primary is never restored.

type Over = Parameters<typeof makeConfig>[0];

const TOPO_RO = "topology db1 writer=- db1=primary,db2=replica,db3=replica";
const TOPO_RW = "topology db1 writer=db1 db1=primary,db2=replica,db3=replica";
const RESTORE = "db1 is the primary and read-only; no other server is writable or ahead of it";
const leftSo = (why: string) => `db1 is read-only; left so: ${why}`;
const WRITABLE_STEP = { kind: "set-read-only", readOnly: false };
const FENCE_OK = {
  readOnly: true,
  previous: { readOnly: false, master: false },
  killed: [],
  killRounds: 1,
};

/** db1 primary, db2 and db3 replicas at 0-1-100, all sampled once by the leader. */
function cluster(over: Over = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const h = healthyObservations(config);
  if (over.semiSync) {
    h.db1 = semi(h.db1!, { masterEnabled: true });
    h.db2 = semi(h.db2!, { slaveEnabled: true });
    h.db3 = semi(h.db3!, { slaveEnabled: true });
  }
  for (const s of config.servers) {
    if (s.agentHost)
      d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat(s.agentHost, s.name, true) });
  }
  d.round(h);
  expect(d.state.primary).toBe("db1");
  d.advance(500);
  return { d, config, h };
}

function semi(o: ServerObservation, s: Partial<ServerObservation["semiSync"]>): ServerObservation {
  return {
    ...o,
    semiSync: { ...o.semiSync, ...s, masterStatus: s.masterEnabled ?? o.semiSync.masterStatus },
  };
}

/** What a mariadbd restart with read_only=ON (and no semi-sync in my.cnf) looks like. */
function restarted(o: ServerObservation, over: Partial<ServerObservation> = {}): ServerObservation {
  return { ...semi(o, { masterEnabled: false }), readOnly: true, clientConnections: 0, ...over };
}

const at = (pos: string): Partial<ServerObservation> => ({
  gtidBinlogPos: pos,
  gtidBinlogState: pos,
  gtidCurrentPos: pos,
});

const lines = (actions: Action[]) => actions.map(summarize);
const restoreSteps = (actions: Action[]) =>
  stepsIn(actions).filter(
    (s) => s.request.step.kind === "set-read-only" && !s.request.step.readOnly,
  );
const readOnlyEvent = (actions: Action[]) =>
  eventsIn(actions).find((e) => e.situation === "PrimaryReadOnly");

/** World-based setup, as in scenario.test.ts: sample everyone, then serve every step. */
function worldSetup(over: Over = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const w = new World(config, T0);
  const pass = (ms: number) => {
    d.advance(ms);
    w.advance(ms);
  };
  const cycle = (ms = 500) => {
    pass(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a)];
  };
  cycle(0);
  return { config, d, w, pass, cycle };
}

/** mariadbd restarts between two samples (no failover), with read_only=ON in my.cnf. */
function bounce(w: World, name: string) {
  w.kill(name);
  w.restart(name, true);
  w.s(name).semiMaster = false; // SET GLOBAL does not survive a restart
}

describe("a restarted primary comes back read-only: writes are turned back on", () => {
  it("set-read-only false on it at once; nothing more once a sample shows it writable (fails without the rule)", () => {
    const { d, h } = cluster();
    const a = d.health("db1", restarted(h.db1!));
    expect(lines(a)).toEqual([
      "event PrimaryReadOnly db1",
      "step db1 set-read-only false",
      TOPO_RO,
    ]);
    expect(readOnlyEvent(a)).toMatchObject({
      server: "db1",
      actionable: true,
      reason: `${RESTORE}: read_only=0`,
    });
    const [step] = stepsIn(a);
    expect(step?.request).toMatchObject({
      server: "db1",
      opId: "op1",
      stepId: "op1-writable",
      epoch: 1,
      step: WRITABLE_STEP,
    });
    expect(step?.reason).toBe(`${RESTORE}: set read_only=0 on db1`);
    expect(d.state.writesRestored).toEqual({ db1: { opId: "op1", sentAt: d.now } });
    // In flight: writable for the write guard, not yet for writers.
    expect(d.state.readOnly.db1).toMatchObject({ readOnly: false, pending: true });
    expect(topologiesIn(a)[0]?.writer).toBeNull();
    // Replica samples taken before it landed change nothing.
    d.advance(100);
    expect(d.round({ db2: h.db2!, db3: h.db3! })).toEqual([]);
    d.advance(1);
    const ok = d.result(step!, okResult(step!.request.stepId));
    expect(lines(ok)).toEqual([TOPO_RW]);
    expect(topologiesIn(ok)[0]?.writer).toEqual({ server: "db1", host: "127.0.0.1", port: 3301 });
    // The next samples show it writable: nothing more, and nothing on later rounds either.
    for (let i = 0; i < 3; i++) {
      d.advance(500);
      expect(d.round(h)).toEqual([]);
    }
    expect(d.state.situations.db1).toEqual(["PrimaryHealthy"]);
  });

  it("the published writer is null while the primary is read-only and the restore is not confirmed", () => {
    const { d, h } = cluster({ failover: { restoreWrites: false } });
    const a = d.health("db1", restarted(h.db1!));
    expect(lines(a)).toEqual(["event PrimaryReadOnly db1", TOPO_RO]);
    const t = topologiesIn(a)[0]!;
    expect(t.primary).toBe("db1");
    expect(t.writer).toBeNull();
    expect(t.servers.find((s) => s.name === "db1")).toMatchObject({
      role: "primary",
      readOnly: true,
    });
    // Someone turns writes on by hand: the writer is published again from the sample.
    d.advance(500);
    expect(lines(d.health("db1", h.db1!))).toEqual([TOPO_RW]);
  });

  it("end to end on the simulated cluster: no failover, db1 writable again and published as writer", () => {
    const { d, w, cycle } = worldSetup();
    w.write("db1", 3);
    w.flow();
    bounce(w, "db1");
    expect(w.writable()).toEqual([]);
    const all = cycle();
    expect(situationsIn(all)).toEqual(["PrimaryReadOnly db1"]);
    expect(lines(restoreSteps(all))).toEqual(["step db1 set-read-only false"]);
    expect(opEventsIn(all)).toEqual([]);
    expect(w.writable()).toEqual(["db1"]);
    expect(d.state.topology.last?.writer?.server).toBe("db1");
    // Writes resume and replicate.
    const g = w.write("db1", 2);
    w.flow();
    expect(w.s("db3").applied).toEqual(expect.arrayContaining(g));
    expect(stepsIn([...cycle(), ...cycle()])).toEqual([]);
  });
});

describe("semiSync: semi-sync master first, read_only=0 after its ok", () => {
  it("set-semi-sync master:true, then set-read-only false only once it answered ok", () => {
    const { d, h } = cluster({ semiSync: true });
    const a = d.health("db1", restarted(h.db1!));
    expect(lines(a)).toEqual(["event PrimaryReadOnly db1", "step db1 set-semi-sync", TOPO_RO]);
    expect(readOnlyEvent(a)?.reason).toBe(`${RESTORE}: semi-sync master on, then read_only=0`);
    const [semiStep] = stepsIn(a);
    expect(semiStep?.request).toMatchObject({
      server: "db1",
      stepId: "op1-semi",
      step: { kind: "set-semi-sync", master: true },
    });
    // Not writable yet, for nobody: read_only=0 has not been sent.
    expect(d.state.readOnly.db1).toMatchObject({ readOnly: true });
    d.advance(100);
    expect(d.round({ db2: h.db2!, db3: h.db3! })).toEqual([]);
    d.advance(1);
    const semiOk = d.result(
      semiStep!,
      okResult(semiStep!.request.stepId, {
        master: true,
        slave: false,
        previous: { master: false, slave: false },
      }),
    );
    expect(lines(semiOk)).toEqual(["step db1 set-read-only false"]);
    const [writable] = stepsIn(semiOk);
    expect(writable?.request).toMatchObject({
      opId: "op1",
      stepId: "op1-writable",
      step: WRITABLE_STEP,
    });
    expect(writable?.reason).toBe(
      "restoring writes on db1, semi-sync master is on: set read_only=0 on db1",
    );
    d.advance(1);
    expect(lines(d.result(writable!, okResult(writable!.request.stepId)))).toEqual([TOPO_RW]);
  });

  it("a failed set-semi-sync sends nothing more; it is sent again after enforceRetryMs", () => {
    const { d, h } = cluster({ semiSync: true });
    const [semiStep] = stepsIn(d.health("db1", restarted(h.db1!)));
    d.advance(1);
    expect(d.result(semiStep!, errResult(semiStep!.request.stepId, "SQL_ERROR"))).toEqual([]);
    d.advance(4000);
    expect(stepsIn(d.health("db1", restarted(h.db1!)))).toEqual([]);
    d.advance(1000);
    const again = stepsIn(d.health("db1", restarted(h.db1!)));
    expect(again.map((s) => [s.request.stepId, s.request.step])).toEqual([
      ["op2-semi", { kind: "set-semi-sync", master: true }],
    ]);
  });

  it("semi-sync master already on (from my.cnf): read_only=0 directly", () => {
    const { d, h } = cluster({ semiSync: true });
    const a = d.health("db1", { ...h.db1!, readOnly: true });
    expect(lines(a)).toEqual([
      "event PrimaryReadOnly db1",
      "step db1 set-read-only false",
      TOPO_RO,
    ]);
    expect(readOnlyEvent(a)?.reason).toBe(`${RESTORE}: read_only=0`);
  });

  const waiting: [
    string,
    (o: ServerObservation, config: ReturnType<typeof makeConfig>) => ServerObservation,
  ][] = [
    ["replicas without semi-sync slave", (o) => semi(o, { slaveEnabled: false })],
    [
      "semi-sync replicas whose IO thread is Connecting",
      (o, config) => ({
        ...o,
        replication: [conn(config, "db1", { ioThread: "Connecting", gtidIoPos: "0-1-100" })],
      }),
    ],
    [
      "semi-sync replicas whose IO thread is stopped",
      (o, config) => ({
        ...o,
        replication: [conn(config, "db1", { ioThread: "No", gtidIoPos: "0-1-100" })],
      }),
    ],
  ];
  it.each(waiting)(
    "no semi-sync replica connected (%s): nothing sent, the reason says it waits",
    (_, replica) => {
      const { d, h, config } = cluster({ semiSync: true });
      const replicas = { db2: replica(h.db2!, config), db3: replica(h.db3!, config) };
      d.round(replicas);
      d.advance(500);
      const a = d.health("db1", restarted(h.db1!));
      expect(situationsIn(a)).toEqual(["PrimaryReadOnly db1"]);
      expect(stepsIn(a)).toEqual([]);
      expect(readOnlyEvent(a)?.reason).toBe(
        leftSo("semi-sync: waiting for a semi-sync replica to connect to it"),
      );
      for (let i = 0; i < 4; i++) {
        d.advance(2000);
        expect(stepsIn(d.round({ ...replicas, db1: restarted(h.db1!) }))).toEqual([]);
      }
      // A semi-sync replica connects: the chain starts (the situation is not reported again).
      d.advance(500);
      const connected = d.health("db2", h.db2!);
      expect(situationsIn(connected)).toEqual([]);
      expect(stepsIn(connected).map((s) => [s.request.server, s.request.step])).toEqual([
        ["db1", { kind: "set-semi-sync", master: true }],
      ]);
    },
  );

  it("a semi-sync replica connected to a relay, not to the primary, does not count", () => {
    const { d, h, config } = cluster({ semiSync: true });
    // db3 replicates from db1 without semi-sync; db2 is a semi-sync replica of db3.
    d.round({
      db3: semi(h.db3!, { slaveEnabled: false }),
      db2: { ...h.db2!, replication: [conn(config, "db3", { gtidIoPos: "0-1-100" })] },
    });
    d.advance(500);
    const a = d.health("db1", restarted(h.db1!));
    expect(stepsIn(a)).toEqual([]);
    expect(readOnlyEvent(a)?.reason).toBe(
      leftSo("semi-sync: waiting for a semi-sync replica to connect to it"),
    );
  });

  it("a server made writable while set-semi-sync was in flight: read_only=0 is not sent after its ok", () => {
    const { d, h } = cluster({ semiSync: true });
    const [semiStep] = stepsIn(d.health("db1", restarted(h.db1!)));
    d.advance(100);
    const fence = stepsIn(d.health("db3", { ...h.db3!, readOnly: false }));
    expect(lines(fence)).toEqual(["step db3 fence kill=none"]);
    d.advance(1);
    expect(stepsIn(d.result(semiStep!, okResult(semiStep!.request.stepId)))).toEqual([]);
    // Once db3 is read-only again, writes come back (master semi-sync is on by now).
    d.advance(1);
    expect(d.result(fence[0]!, okResult(fence[0]!.request.stepId, FENCE_OK))).toEqual([]);
    d.advance(5000);
    d.health("db3", h.db3!);
    const a = d.health("db1", restarted(h.db1!, { semiSync: h.db1!.semiSync }));
    expect(lines(restoreSteps(a))).toEqual(["step db1 set-read-only false"]);
  });
});

describe("a replica with errant transactions (written on it, not by the primary)", () => {
  it("is flagged diverged (excluded from promotion) and does not hold the primary read-only", () => {
    const { d, h } = cluster();
    // db2 replicates from db1 and applied 0-2-101, which db1 never had: written on db2.
    d.round({ db2: { ...h.db2!, gtidCurrentPos: "0-2-101", gtidBinlogPos: "0-2-101" } });
    d.advance(500);
    const a = d.health("db1", restarted(h.db1!));
    expect(d.state.diverged.db2).toMatchObject({
      situation: "ServerDiverged",
      extraGtids: "0-2-101",
      errant: true,
    });
    // Found in the evaluation that also judged the primary: flagged for the next one.
    expect(situationsIn(a)).toEqual(["PrimaryReadOnly db1"]);
    d.advance(500);
    const b = d.health("db1", restarted(h.db1!));
    expect(lines(restoreSteps(b))).toEqual(["step db1 set-read-only false"]);
  });
});

describe("nothing is sent when it is not safe", () => {
  interface Blocked {
    name: string;
    over?: Over;
    /** Runs after the cluster is up, before the primary's read-only sample. */
    before?: (
      d: Driver,
      h: Record<string, ServerObservation>,
      config: ReturnType<typeof makeConfig>,
    ) => void;
    /** The primary's sample (default: restarted at 0-1-100). */
    primary?: (h: Record<string, ServerObservation>) => ServerObservation;
    reason: string;
  }
  const rows: Blocked[] = [
    {
      name: "the primary lost its last commit, which a replica applied",
      before: (d, h) => {
        d.round({ db2: { ...h.db2!, ...at("0-1-101"), gtidSlavePos: "0-1-101" } });
      },
      reason: leftSo("db2 has 0-1-101 that db1 lacks: switch over to it or rebuild db1"),
    },
    {
      name: "the primary lost its last commit, which a replica only received (relay log)",
      before: (d, h, config) => {
        d.round({
          db3: { ...h.db3!, replication: [conn(config, "db1", { gtidIoPos: "0-1-101" })] },
        });
      },
      reason: leftSo("db3 has 0-1-101 that db1 lacks: switch over to it or rebuild db1"),
    },
    {
      name: "the primary lost its last two commits; both replicas have them",
      before: (d, h) => {
        d.round({
          db2: { ...h.db2!, ...at("0-1-101") },
          db3: { ...h.db3!, ...at("0-1-102") },
        });
      },
      reason: leftSo("db2 has 0-1-101 that db1 lacks: switch over to it or rebuild db1"),
    },
    {
      name: "another reachable server is writable",
      before: (d, h) => {
        d.round({ db3: { ...h.db3!, readOnly: false } });
      },
      reason: leftSo("db3 may be writable"),
    },
    {
      name: "the primary is in maintenance",
      before: (d) => {
        d.command("set-maintenance", { server: "db1", reason: "kernel upgrade" });
      },
      reason: leftSo("it is in maintenance"),
    },
    {
      name: "failover.restoreWrites is off",
      over: { failover: { restoreWrites: false } },
      reason: leftSo("failover.restoreWrites is off"),
    },
  ];
  it.each(rows.map((r) => [r.name, r] as const))("%s", (_, row) => {
    const { d, h, config } = cluster(row.over);
    row.before?.(d, h, config);
    d.advance(500);
    const a = d.health("db1", row.primary?.(h) ?? restarted(h.db1!));
    expect(situationsIn(a)).toEqual(["PrimaryReadOnly db1"]);
    expect(readOnlyEvent(a)?.reason).toBe(row.reason);
    expect(stepsIn(a).filter((s) => s.request.server === "db1")).toEqual([]);
    expect(topologiesIn(a).map((t) => t.writer)).toEqual([null]);
    // Nor later, while it stays so.
    const all: Action[] = [];
    for (let i = 0; i < 4; i++) {
      d.advance(1500);
      // The replicas are sampled again as they were (their last observation).
      for (const r of ["db2", "db3"]) {
        const o = d.state.lastObservation[r]?.observation;
        if (o) all.push(...d.health(r, o));
      }
      all.push(...d.health("db1", row.primary?.(h) ?? restarted(h.db1!)));
    }
    expect(restoreSteps(all)).toEqual([]);
    expect(stepsIn(all).filter((s) => s.request.server === "db1")).toEqual([]);
    expect(d.state.writesRestored).toEqual({});
  });

  it("an operation is running (a rebuild of db3 that does not touch db1): nothing sent, nor reported", () => {
    const { d, h, config } = cluster({
      servers: [
        { name: "db1", agentHost: "h1" },
        { name: "db2", agentHost: "h2" },
        { name: "db3", agentHost: "h3" },
      ],
    });
    const broken = conn(config, "db1", {
      gtidIoPos: "0-1-100",
      sqlThread: false,
      lastSqlErrno: 1062,
      lastSqlError: "Duplicate entry",
    });
    d.round({ db3: { ...h.db3!, replication: [broken] } });
    d.command("rebuild", { target: "db3", source: "db2" });
    expect(d.state.operation?.kind).toBe("rebuild");
    const all: Action[] = [];
    for (let i = 0; i < 4; i++) {
      d.advance(1500);
      all.push(...d.round({ db2: h.db2!, db1: restarted(h.db1!) }));
    }
    expect(stepsIn(all)).toEqual([]);
    expect(situationsIn(all)).toEqual([]);
    expect(topologiesIn(all).map((t) => t.writer)).toEqual([null]);
    expect(d.state.writesRestored).toEqual({});
  });

  it("an operation is running (a rejoin of the old primary): restored only once it ended", () => {
    const { d, w, pass, cycle } = worldSetup();
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.restart("db1", true);
    pass(500);
    const started = w.observe(d); // the rejoin starts; its steps are not answered yet
    expect(d.state.operation?.kind).toBe("rejoin");
    bounce(w, "db2");
    pass(500);
    const during = w.observe(d);
    expect(restoreSteps(during)).toEqual([]);
    expect(situationsIn(during)).toEqual([]);
    const served = w.serve(d, [...started, ...during]);
    // The step result that ends the rejoin is the first input that may restore writes.
    const seq = lines(served);
    expect(seq.slice(seq.indexOf("op rejoin succeeded attach"))).toEqual([
      "op rejoin succeeded attach",
      "history rejoin succeeded",
      "event PrimaryReadOnly db2",
      "step db2 set-read-only false",
      "topology db2 writer=- db1=replica,db2=primary,db3=replica",
      "topology db2 writer=db2 db1=replica,db2=primary,db3=replica",
    ]);
    expect(eventsIn(served).find((e) => e.situation === "PrimaryReadOnly")?.reason).toBe(
      "db2 is the primary and read-only; no other server is writable or ahead of it: read_only=0",
    );
    expect(w.writable()).toEqual(["db2"]);
  });

  it("a switchover's demoted primary is read-only on purpose: not reported, nothing sent", () => {
    const { d, h } = cluster();
    const a = d.command("switchover", { target: "db2" });
    const fence = stepsIn(a)[0]!;
    expect(fence.request).toMatchObject({ server: "db1", step: { kind: "fence" } });
    d.advance(1);
    d.result(fence, okResult(fence.request.stepId, FENCE_OK));
    d.advance(500);
    const ro = d.round({ db1: { ...h.db1!, readOnly: true }, db2: h.db2!, db3: h.db3! });
    expect(situationsIn(ro)).toEqual([]);
    expect(restoreSteps(ro)).toEqual([]);
  });

  it("what the primary lacks is judged in its own GTID domains only (a multi-source domain does not block)", () => {
    const { d, h } = cluster();
    d.round({
      db3: { ...h.db3!, gtidCurrentPos: "0-1-100,7-9-55", gtidSlavePos: "0-1-100,7-9-55" },
    });
    d.advance(500);
    expect(lines(d.health("db1", restarted(h.db1!)))).toEqual([
      "event PrimaryReadOnly db1",
      "step db1 set-read-only false",
      TOPO_RO,
    ]);
  });

  it("another writable server is fenced by the enforcement; once its fence answered ok, writes come back", () => {
    const { d, h } = cluster();
    const a = d.health("db3", { ...h.db3!, readOnly: false });
    expect(lines(a)).toEqual([
      "event SplitBrainRisk",
      "event ReplicaWritable db3",
      "step db3 fence kill=none",
    ]);
    d.advance(100);
    const ro = d.health("db1", restarted(h.db1!));
    expect(lines(ro)).toEqual(["event PrimaryReadOnly db1", TOPO_RO]);
    expect(readOnlyEvent(ro)?.reason).toBe(leftSo("db3 may be writable"));
    d.advance(1);
    const fence = stepsIn(a)[0]!;
    const after = d.result(fence, okResult(fence.request.stepId, FENCE_OK));
    expect(lines(after)).toEqual(["step db1 set-read-only false"]);
  });

  it("maintenance cleared: writes come back", () => {
    const { d, h } = cluster();
    d.command("set-maintenance", { server: "db1" });
    d.advance(500);
    expect(stepsIn(d.health("db1", restarted(h.db1!)))).toEqual([]);
    const a = d.command("clear-maintenance", { server: "db1" });
    expect(lines(restoreSteps(a))).toEqual(["step db1 set-read-only false"]);
  });

  it("a replica that is only behind the primary does not block", () => {
    const { d, h } = cluster();
    d.round({ db2: { ...h.db2!, ...at("0-1-90") } });
    d.advance(500);
    expect(lines(restoreSteps(d.health("db1", restarted(h.db1!))))).toEqual([
      "step db1 set-read-only false",
    ]);
  });
});

describe("retry", () => {
  it("answered ok but the samples still show it read-only: sent again only after enforceRetryMs", () => {
    const { d, h } = cluster();
    const [first] = stepsIn(d.health("db1", restarted(h.db1!)));
    const sentAt = d.now;
    d.advance(1);
    d.result(first!, okResult(first!.request.stepId));
    // Something (an init script, an operator) put read_only back.
    const sends: string[] = [];
    for (const t of [1000, 2000, 3000, 4000, 4999]) {
      d.now = sentAt + t;
      sends.push(...lines(restoreSteps(d.health("db1", restarted(h.db1!)))));
    }
    expect(sends).toEqual([]);
    d.now = sentAt + 5000;
    const again = restoreSteps(d.health("db1", restarted(h.db1!)));
    expect(again.map((s) => s.request.stepId)).toEqual(["op2-writable"]);
    d.now += 100;
    expect(restoreSteps(d.health("db1", restarted(h.db1!)))).toEqual([]);
  });

  it("no answer (TIMEOUT): read_only=0 may still land, so it is re-sent only once samples well after it still show read-only", () => {
    const { d, h, config } = cluster();
    const [first] = stepsIn(d.health("db1", restarted(h.db1!)));
    const sentAt = d.now;
    d.advance(5000);
    expect(d.result(first!, errResult(first!.request.stepId, "TIMEOUT"))).toEqual([]);
    const fresh = freshMs(config);
    expect(fresh).toBeGreaterThan(5000);
    for (const t of [5500, fresh]) {
      d.now = sentAt + t;
      expect(stepsIn(d.health("db1", restarted(h.db1!)))).toEqual([]);
    }
    d.now = sentAt + fresh + 1;
    const again = d.health("db1", restarted(h.db1!));
    expect(lines(again)).toEqual(["event PrimaryReadOnly db1", "step db1 set-read-only false"]);
    expect(stepsIn(again)[0]?.request.stepId).toBe("op2-writable");
  });

  it("a second restart soon after a restore: restored once enforceRetryMs has passed since the first", () => {
    const { d, w, cycle } = worldSetup();
    bounce(w, "db1");
    expect(restoreSteps(cycle()).map((s) => s.request.stepId)).toEqual(["op1-writable"]);
    const firstAt = d.now;
    expect(w.writable()).toEqual(["db1"]);
    bounce(w, "db1");
    const waiting: Action[] = [];
    while (d.now + 500 - firstAt < 5000) waiting.push(...cycle());
    expect(restoreSteps(waiting)).toEqual([]);
    expect(w.writable()).toEqual([]);
    expect(restoreSteps(cycle()).map((s) => s.request.stepId)).toEqual(["op2-writable"]);
    expect(w.writable()).toEqual(["db1"]);
  });
});

describe("leadership", () => {
  it("a non-leader emits nothing; the new leader restores writes when it resumes", () => {
    const { d, h } = cluster();
    d.leader = false;
    expect(d.health("db1", restarted(h.db1!))).toEqual([]);
    d.advance(500);
    expect(d.round({ ...h, db1: restarted(h.db1!) })).toEqual([]);
    expect(d.state.writesRestored).toEqual({});
    d.leader = true;
    d.epoch = 2;
    const a = d.feed({ kind: "resume" });
    expect(lines(restoreSteps(a))).toEqual(["step db1 set-read-only false"]);
    expect(stepsIn(a)[0]?.request.epoch).toBe(2);
  });
});

describe("a former primary that restarts read-only is not made writable", () => {
  it("after a failover, the old primary is fenced and rejoined, never set writable; the new primary is restored when it restarts", () => {
    const { d, w, cycle } = worldSetup();
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.write("db2", 3);
    w.flow();
    w.restart("db1", true);
    const before = w.executed.length;
    const back = cycle();
    expect(situationsIn(back)).toEqual(["OldPrimaryReturned db1"]);
    const toDb1 = w.executed.slice(before).filter((r) => r.server === "db1");
    expect(toDb1[0]?.step).toEqual({ kind: "fence", kill: "all" });
    expect(toDb1.some((r) => r.step.kind === "set-read-only" && !r.step.readOnly)).toBe(false);
    expect(opEventsIn(back).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(w.writable()).toEqual(["db2"]);
    expect(d.state.topology.last?.writer?.server).toBe("db2");
    // Later the NEW primary restarts read-only: it is the one made writable.
    bounce(w, "db2");
    const again = cycle();
    expect(situationsIn(again)).toEqual(["PrimaryReadOnly db2"]);
    expect(restoreSteps(again).map((s) => s.request.server)).toEqual(["db2"]);
    expect(w.writable()).toEqual(["db2"]);
  });

  it("an old primary that restarts read-only while the new one is read-only too: only the new one is restored", () => {
    const { d, w, cycle } = worldSetup();
    w.kill("db1");
    cycle();
    bounce(w, "db2");
    w.restart("db1", true);
    const all = [...cycle(), ...cycle()];
    expect(restoreSteps(all).map((s) => s.request.server)).toEqual(["db2"]);
    expect(w.writable()).toEqual(["db2"]);
    expect(d.state.primary).toBe("db2");
    expect(
      w.executed.some(
        (r) => r.server === "db1" && r.step.kind === "set-read-only" && !r.step.readOnly,
      ),
    ).toBe(false);
  });
});

// Found while writing these tests (each failed on the first version of the rule).
describe("cases the first version of restore-writes.ts got wrong", () => {
  it("a primary that comes back with NO GTID history (datadir re-initialized) is made writable although the replicas hold 0-1-100", () => {
    const { d, h } = cluster();
    const a = d.health("db1", restarted(h.db1!, { ...at(""), gtidSlavePos: "" }));
    expect(restoreSteps(a)).toEqual([]);
  });

  it("maintenance set while set-semi-sync is in flight: read_only=0 is still sent after its ok", () => {
    const { d, h } = cluster({ semiSync: true });
    const [semiStep] = stepsIn(d.health("db1", restarted(h.db1!)));
    d.command("set-maintenance", { server: "db1" });
    d.advance(1);
    expect(restoreSteps(d.result(semiStep!, okResult(semiStep!.request.stepId)))).toEqual([]);
  });

  it("a replica's sample showing a commit the primary lacks arrives while set-semi-sync is in flight: read_only=0 is still sent", () => {
    const { d, h } = cluster({ semiSync: true });
    const [semiStep] = stepsIn(d.health("db1", restarted(h.db1!)));
    d.advance(100);
    const ahead = d.health("db2", { ...h.db2!, ...at("0-1-101") });
    expect(readOnlyEvent(ahead)).toBeUndefined(); // the situation is already on; its reason changed
    d.advance(1);
    expect(restoreSteps(d.result(semiStep!, okResult(semiStep!.request.stepId)))).toEqual([]);
  });

  it("semiSync with semi-sync master already on and no replica connected: read_only=0 is sent (the first write would stall for rpl_semi_sync_master_timeout)", () => {
    const { d, h, config } = cluster({ semiSync: true });
    const off = (o: ServerObservation) => ({
      ...o,
      replication: [conn(config, "db1", { ioThread: "Connecting", gtidIoPos: "0-1-100" })],
    });
    d.round({ db2: off(h.db2!), db3: off(h.db3!) });
    d.advance(500);
    const a = d.health("db1", { ...h.db1!, readOnly: true }); // master semi-sync on from my.cnf
    expect(restoreSteps(a)).toEqual([]);
  });

  it("a diverged old primary (flagged by Marina for a rebuild) keeps the new primary read-only forever after it restarts", () => {
    const { d, w, cycle } = worldSetup();
    w.write("db1", 1); // 0-1-11 committed on db1 only
    w.kill("db1");
    cycle();
    w.write("db2", 3);
    w.flow();
    w.restart("db1", true);
    cycle();
    expect(d.state.diverged.db1?.extraGtids).toBe("0-1-11");
    bounce(w, "db2");
    const all = [...cycle(), ...cycle(), ...cycle()];
    // The GTIDs the failover gave up on (db1's extraGtids) must not hold db2 read-only.
    expect(readOnlyEvent(all)?.reason).not.toMatch(/db1 has 0-1-11/);
    expect(w.writable()).toEqual(["db2"]);
  });
});

// ---------------------------------------------------------------------------------------
// Properties over the simulated cluster, every my.cnf with read_only=ON (every restart
// comes back read-only).

const SERVERS = ["db1", "db2", "db3"] as const;
const server = fc.constantFrom(...SERVERS);
const WorldOp = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("cycle" as const),
      dt: fc.integer({ min: 0, max: 2500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("observe-one" as const),
      s: server,
      dt: fc.integer({ min: 0, max: 800 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("serve" as const),
      n: fc.integer({ min: 1, max: 4 }),
      lost: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("write" as const),
      s: server,
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("flow" as const),
      s: fc.option(server, { nil: undefined }),
    }),
  },
  // A crash that may lose the last commits (non-durable binlog), then a read-only restart.
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("crash" as const),
      s: fc.constantFrom("primary" as const, "primary" as const, ...SERVERS),
      lose: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("kill" as const), s: server }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("maintenance" as const), s: server, on: fc.boolean() }),
  },
);
type WorldOp = typeof WorldOp extends fc.Arbitrary<infer T> ? T : never;

const received = (o: ServerObservation) =>
  positionOf(
    union(parseGtidList(o.gtidCurrentPos), ...o.replication.map((c) => parseGtidList(c.gtidIoPos))),
  );
const historyIn = (o: ServerObservation) =>
  union(
    parseGtidList(o.gtidBinlogState),
    parseGtidList(o.gtidBinlogPos),
    parseGtidList(o.gtidCurrentPos),
    parseGtidList(o.gtidSlavePos),
  );

/** A driver that checks every restore it sends against what it was told. */
class Watched extends Driver {
  violations: string[] = [];
  pending: StepAction[] = [];
  told: Record<string, { obs: ServerObservation | null; at: number }> = {};

  override feed(input: Input): Action[] {
    if (input.kind === "health") {
      this.told[input.sample.server] = { obs: input.sample.observation, at: this.now };
    }
    const before = this.state;
    const r = decide(before, input, this.ctx());
    this.state = r.state;
    this.log.push(...r.actions);
    for (const a of stepsIn(r.actions)) {
      this.pending.push(a);
      if (!(a.request.opId in r.state.writesRestored)) continue;
      const x = a.request.server;
      const why = `${summarize(a)} (${a.reason})`;
      if (x !== r.state.primary) this.violations.push(`restore on ${x}, not the primary: ${why}`);
      if (r.state.maintenance[x]) this.violations.push(`restore in maintenance: ${why}`);
      if (r.state.operation !== null)
        this.violations.push(`restore while ${r.state.operation.kind} runs: ${why}`);
      if (a.request.step.kind !== "set-read-only") continue;
      const mine = this.told[x]?.obs;
      if (!mine) continue;
      const history = historyIn(mine);
      for (const [y, t] of Object.entries(this.told)) {
        if (y === x || !t.obs || this.now - t.at > freshMs(this.config)) continue;
        const lacks = received(t.obs).filter(
          (g) =>
            !history.some((h) => h.domain === g.domain && h.server === g.server && h.seq >= g.seq),
        );
        if (lacks.length)
          this.violations.push(
            `restored ${x} while ${y} had ${lacks.map((g) => `${g.domain}-${g.server}-${g.seq}`)}: ${why}`,
          );
      }
    }
    return r.actions;
  }
}

function runWorld(ops: WorldOp[]) {
  const config = makeConfig({ failover: { cooldownMs: 5_000 } });
  const w = new World(config, T0);
  const d = new Watched(config, { enforceRetryMs: 1000 });
  d.validate = false;
  const pass = (ms: number) => {
    d.advance(ms);
    w.advance(ms);
  };
  const answer = (a: StepAction) => {
    pass(1);
    d.feed({
      kind: "step-result",
      opId: a.request.opId,
      stepId: a.request.stepId,
      result: w.exec(a.request),
    });
  };
  const twoWriters: string[] = [];
  w.observe(d);
  for (const op of ops) {
    switch (op.t) {
      case "cycle":
        pass(op.dt);
        w.observe(d);
        for (let guard = 0; d.pending.length && guard < 200; guard++) answer(d.pending.shift()!);
        break;
      case "observe-one":
        pass(op.dt);
        d.feed({ kind: "health", sample: w.sampleOf(op.s) });
        break;
      case "serve":
        for (let i = 0; i < op.n && d.pending.length; i++) {
          const a = d.pending.shift()!;
          if (op.lost) w.exec(a.request);
          else answer(a);
        }
        break;
      case "write":
        w.write(op.s, op.n);
        break;
      case "flow":
        if (op.s) w.flowOn(op.s);
        else w.flow();
        break;
      case "crash": {
        const name = op.s === "primary" ? (d.state.primary ?? "db1") : op.s;
        const s = w.s(name);
        w.kill(name);
        for (let i = 0; i < op.lose && s.binlog.length > 1; i++) {
          const g = s.binlog.pop()!;
          if (s.applied.at(-1) === g) s.applied.pop();
        }
        bounce(w, name);
        break;
      }
      case "kill":
        w.kill(op.s);
        break;
      case "maintenance":
        d.command(op.on ? "set-maintenance" : "clear-maintenance", { server: op.s });
        break;
      default: {
        const never: never = op;
        throw new Error(String(never));
      }
    }
    if (w.writable().length > 1) twoWriters.push(`${op.t}: ${w.writable().join(",")}`);
  }
  return { d, w, twoWriters };
}

describe("restore-writes: properties (fast-check)", () => {
  it("with read_only=ON everywhere: never two writers; a restore goes only to the primary, outside maintenance and operations, and never past a commit another server holds", () => {
    fc.assert(
      fc.property(fc.array(WorldOp, { minLength: 5, maxLength: 50 }), (ops) => {
        const { d, twoWriters } = runWorld(ops);
        expect(twoWriters).toEqual([]);
        expect(d.violations).toEqual([]);
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it("restarts of the primary without loss: one restore per read-only episode, and the primary ends writable and published as writer", () => {
    const Op = fc.oneof(
      fc.record({ t: fc.constant("write" as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ t: fc.constant("flow" as const), s: fc.constantFrom("db2", "db3") }),
      fc.record({ t: fc.constant("bounce" as const) }),
      fc.record({ t: fc.constant("cycle" as const) }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(Op, { minLength: 1, maxLength: 30 }), (semiSync, ops) => {
        const { d, w, cycle } = worldSetup({ semiSync });
        for (const r of ["db2", "db3"]) w.s(r).semiSlave = true;
        let episodes = 0;
        // Rounds enforceRetryMs apart (a restart sooner after a restore waits for it: see
        // "a second restart soon after a restore").
        const observed = () => {
          if (w.s("db1").readOnly) episodes += 1;
          return cycle(5000);
        };
        for (const op of ops) {
          if (op.t === "write") w.write("db1", op.n);
          else if (op.t === "flow") w.flowOn(op.s);
          else if (op.t === "bounce") bounce(w, "db1");
          else observed();
        }
        w.flow();
        observed();
        observed();
        const restores = w.executed.filter(
          (r) => r.step.kind === "set-read-only" && !r.step.readOnly,
        );
        expect(restores.map((r) => r.server)).toEqual(Array(episodes).fill("db1"));
        if (semiSync) {
          // Each restore comes after a semi-sync master on of its own.
          const semis = w.executed.filter(
            (r) => r.server === "db1" && r.step.kind === "set-semi-sync" && r.step.master === true,
          );
          expect(semis).toHaveLength(episodes);
        }
        expect(d.state.primary).toBe("db1");
        expect(w.writable()).toEqual(["db1"]);
        expect(d.state.topology.last?.writer?.server).toBe("db1");
        expect(d.log.filter((a) => a.kind === "operation")).toEqual([]);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
