import type { ClusterTopology } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import {
  Driver,
  errResult,
  eventsIn,
  makeConfig,
  opEventsIn,
  repliesIn,
  situationsIn,
  stepsIn,
  summarize,
  T0,
  topologiesIn,
} from "./helpers.js";
import { World } from "./world.js";

function setup(
  over: Parameters<typeof makeConfig>[0] = {},
  worldOpts: ConstructorParameters<typeof World>[2] = {},
) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const w = new World(config, T0, worldOpts);
  const pass = (ms: number) => {
    d.advance(ms);
    w.advance(ms);
  };
  /** Samples everyone, then serves every step that leads to. */
  const cycle = (ms = 500) => {
    pass(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a)];
  };
  cycle(0);
  return { config, d, w, pass, cycle };
}

const lastTopology = (actions: Action[]): ClusterTopology | undefined =>
  topologiesIn(actions).at(-1);
const roles = (t: ClusterTopology | undefined) =>
  Object.fromEntries((t?.servers ?? []).map((s) => [s.name, s.role]));

describe("kill -9 of the primary", () => {
  it("fails over to the most advanced replica, repoints the others, publishes the new topology", () => {
    const { d, w, cycle, pass } = setup();
    expect(d.state.primary).toBe("db1");
    w.write("db1", 5);
    // db3 got more than db2 before the crash.
    w.flowOn("db2");
    w.write("db1", 2);
    w.flowOn("db3");
    const lastWrite = w.s("db1").applied.at(-1);
    w.kill("db1");
    pass(10);
    const a = w.observe(d);
    const all = [...a, ...w.serve(d, a)];
    expect(situationsIn(all)).toContain("PrimaryDead db1");
    const final = opEventsIn(all).at(-1);
    expect(final).toMatchObject({
      kind: "failover",
      state: "succeeded",
      servers: { failed: "db1", candidate: "db3" },
    });
    expect(Object.keys(final?.timings ?? {})).toEqual(
      expect.arrayContaining(["inspect", "drain", "promote", "repoint", "total"]),
    );
    expect(lastTopology(all)).toMatchObject({
      primary: "db3",
      writer: { server: "db3", port: 3303 },
    });
    expect(w.writable()).toEqual(["db3"]);
    // Nothing lost: the new primary has the last write the old one made.
    expect(w.s("db3").applied).toContain(lastWrite);
    // db2 follows db3 and gets new writes.
    const more = w.write("db3", 3);
    w.flow();
    expect(w.s("db2").applied).toEqual(expect.arrayContaining(more));
    // A fresh round settles the roles; no further operation starts.
    const after = cycle();
    expect(opEventsIn(after)).toEqual([]);
    expect(roles(d.state.topology.last ?? undefined)).toEqual({
      db1: "down",
      db2: "replica",
      db3: "primary",
    });
    expect(d.state.exPrimaries.db1).toBeDefined();
  });

  it("emits each situation once, not on every sample", () => {
    const { d, w, cycle } = setup();
    w.kill("db1");
    const all: Action[] = [];
    for (let i = 0; i < 5; i++) all.push(...cycle());
    const dead = situationsIn(all).filter((s) => s === "PrimaryDead db1");
    expect(dead).toHaveLength(1);
    expect(topologiesIn(all).map((t) => t.generation)).toEqual([
      ...new Set(topologiesIn(all).map((t) => t.generation)),
    ]);
    expect(d.state.primary).toBe("db2");
  });
});

describe("only the monitor lost the primary", () => {
  it("reports PrimaryUnreachableByMonitor and never fails over", () => {
    const { d, w, cycle } = setup();
    w.hidden.add("db1");
    const all: Action[] = [];
    for (let i = 0; i < 20; i++) {
      w.write("db1", 1);
      w.flow();
      all.push(...cycle());
    }
    expect(situationsIn(all)).toEqual(["PrimaryUnreachableByMonitor db1"]);
    const e = eventsIn(all)[0];
    expect(e?.reason).toMatch(/replicas still hear it/);
    expect(e?.actionable).toBe(false);
    expect(stepsIn(all)).toEqual([]);
    expect(d.state.primary).toBe("db1");
    // It comes back into view: healthy again.
    w.hidden.delete("db1");
    expect(situationsIn(cycle())).toEqual(["PrimaryHealthy db1"]);
  });
});

describe("SIGSTOP of the primary (IO thread stays Yes)", () => {
  it("waits for replicaQuietMs of silence, then fails over", () => {
    const { d, w, cycle } = setup({ failover: { replicaQuietMs: 3000 } });
    w.freeze("db1");
    const early = [...cycle(500), ...cycle(500), ...cycle(500)];
    expect(stepsIn(early)).toEqual([]);
    expect(situationsIn(early)).toContain("PrimaryUnreachableByMonitor db1");
    const later: Action[] = [];
    for (let i = 0; i < 4; i++) later.push(...cycle(500));
    expect(situationsIn(later)).toContain("PrimaryDead db1");
    expect(opEventsIn(later).at(-1)?.state).toBe("succeeded");
    expect(d.state.primary).toBe("db2");
  });
});

describe("the old primary returns", () => {
  it("writable and behind: fenced first, then rejoined as a replica", () => {
    const { d, w, cycle } = setup();
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.write("db2", 4);
    w.flow();
    w.restart("db1", false); // no read_only in its config: back writable
    const all = cycle();
    const seq = all.map(summarize);
    expect(seq).toContain("event OldPrimaryReturned db1");
    expect(seq).toContain("event SplitBrainRisk");
    // Fenced before anything else is done to it, by one fence step that kills its clients.
    const db1Steps = stepsIn(all)
      .filter((s) => s.request.server === "db1")
      .map((s) => s.request.step.kind);
    expect(stepsIn(all).find((s) => s.request.server === "db1")?.request.step).toEqual({
      kind: "fence",
      kill: "all",
    });
    expect(db1Steps.filter((k) => k === "fence")).toHaveLength(1);
    expect(db1Steps).not.toContain("kill-clients");
    expect(db1Steps).not.toContain("set-read-only");
    expect(db1Steps).toEqual(
      expect.arrayContaining([
        "set-gtid-slave-pos",
        "change-master",
        "start-replication",
        "verify-replicating",
      ]),
    );
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(w.writable()).toEqual(["db2"]);
    const g = w.write("db2", 1);
    w.flow();
    expect(w.s("db1").applied).toEqual(expect.arrayContaining(g));
    cycle();
    expect(roles(d.state.topology.last ?? undefined)).toEqual({
      db1: "replica",
      db2: "primary",
      db3: "replica",
    });
    expect(d.state.exPrimaries).toEqual({});
  });

  it("with a transaction nobody else has (crash-recovered): fenced, flagged diverged, not rejoined", () => {
    const { d, w, cycle } = setup();
    w.write("db1", 1); // committed on db1 only
    const extra = w.s("db1").applied.at(-1)!;
    w.kill("db1");
    cycle();
    w.write("db2", 5); // 0-2-... continue the domain on db2
    w.flow();
    w.restart("db1", false);
    const all = cycle();
    const ev = eventsIn(all).find((e) => e.situation === "OldPrimaryDiverged");
    expect(ev).toMatchObject({ server: "db1", extraGtids: extra, actionable: true });
    expect(w.s("db1").readOnly).toBe(true);
    expect(
      stepsIn(all).some(
        (s) => s.request.server === "db1" && s.request.step.kind === "change-master",
      ),
    ).toBe(false);
    expect(roles(lastTopology(all)).db1).toBe("diverged");
    expect(d.state.diverged.db1?.extraGtids).toBe(extra);
    // And it stays that way.
    const later = [...cycle(), ...cycle()];
    expect(stepsIn(later)).toEqual([]);
  });
});

describe("anti-flapping", () => {
  it("blocks a second automatic failover inside the cooldown, and reset-failover-limits lifts it", () => {
    const { d, w, cycle } = setup({ failover: { cooldownMs: 600_000 } });
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.kill("db2");
    const blocked = [...cycle(), ...cycle()];
    expect(situationsIn(blocked)).toEqual(
      expect.arrayContaining(["PrimaryDead db2", "FailoverBlocked db2"]),
    );
    expect(situationsIn(blocked).filter((s) => s === "FailoverBlocked db2")).toHaveLength(1);
    expect(eventsIn(blocked).find((e) => e.situation === "FailoverBlocked")?.reason).toMatch(
      /cooldown/,
    );
    expect(stepsIn(blocked)).toEqual([]);
    const reset = d.command("reset-failover-limits");
    expect(repliesIn(reset)[0]).toMatchObject({ ok: true });
    // The limits are gone: the very same evaluation starts the failover.
    const go = [...reset, ...w.serve(d, reset)];
    expect(opEventsIn(go).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { failed: "db2", candidate: "db3" },
    });
  });
});

describe("switchover", () => {
  it("demotes, waits for the target, promotes it and repoints the old primary", () => {
    const { d, w } = setup();
    w.write("db1", 3);
    w.flow();
    let maxWritable = 0;
    const a = d.command("switchover", { target: "db3" });
    expect(repliesIn(a)[0]).toMatchObject({ ok: true, verb: "switchover", opId: "op1" });
    const all = [
      ...a,
      ...w.serve(d, a, (_req, r) => {
        maxWritable = Math.max(maxWritable, w.writable().length);
        return r;
      }),
    ];
    expect(maxWritable).toBe(1);
    const final = opEventsIn(all).at(-1);
    expect(final).toMatchObject({ kind: "switchover", state: "succeeded" });
    expect(Object.keys(final?.timings ?? {})).toEqual(
      expect.arrayContaining(["demote", "read-pos", "catch-up", "promote", "repoint"]),
    );
    // Demote happens before promote.
    const seq = stepsIn(all).map(
      (s) => `${s.request.server} ${summarize(s).split(" ").slice(2).join(" ")}`,
    );
    expect(seq.indexOf("db1 fence kill=unprivileged")).toBeGreaterThan(-1);
    expect(seq.indexOf("db1 fence kill=unprivileged")).toBeLessThan(
      seq.indexOf("db3 set-read-only false"),
    );
    expect(w.writable()).toEqual(["db3"]);
    const g = w.write("db3", 2);
    w.flow();
    expect(w.s("db1").applied).toEqual(expect.arrayContaining(g));
    expect(w.s("db2").applied).toEqual(expect.arrayContaining(g));
    expect(d.state.primary).toBe("db3");
    expect(d.state.exPrimaries).toEqual({});
  });

  it("a lagging target that does not catch up in time fails cleanly: the old primary is writable again", () => {
    const { d, w } = setup();
    const a = d.command("switchover", { target: "db2", timeoutMs: 1000 });
    const all = [
      ...a,
      ...w.serve(d, a, (req, r) =>
        req.step.kind === "wait-gtid"
          ? errResult(req.stepId, "TIMEOUT", "MASTER_GTID_WAIT timed out")
          : r,
      ),
    ];
    const ops = opEventsIn(all);
    expect(ops.at(-1)).toMatchObject({
      state: "failed",
      phase: "undo",
      error: { code: "TIMEOUT" },
    });
    expect(ops.at(-1)?.message).toMatch(/db1 is writable again/);
    // wait-gtid timing out is not retried: its timeout IS the bound.
    expect(stepsIn(all).filter((s) => s.request.step.kind === "wait-gtid")).toHaveLength(1);
    expect(w.writable()).toEqual(["db1"]);
    expect(d.state.primary).toBe("db1");
    expect(
      stepsIn(all).some(
        (s) => s.request.server === "db2" && s.request.step.kind === "set-read-only",
      ),
    ).toBe(false);
  });

  it("a failure while promoting (before read_only is off) re-attaches the target and undoes", () => {
    const { d, w } = setup();
    const a = d.command("switchover", { target: "db2" });
    const all = [
      ...a,
      ...w.serve(d, a, (req, r) =>
        req.step.kind === "reset-replication" ? errResult(req.stepId, "SQL_ERROR", "1198 boom") : r,
      ),
    ];
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed", error: { code: "SQL_ERROR" } });
    expect(w.writable()).toEqual(["db1"]);
    w.write("db1", 2);
    w.flow();
    expect(w.s("db2").applied).toEqual(w.s("db1").applied);
  });

  it("cancel before promotion undoes like a failure", () => {
    const { d, w } = setup();
    const a = d.command("switchover", { target: "db2" });
    // Answer only the demotion's first step, then cancel.
    const first = stepsIn(a)[0]!;
    d.result(first, w.exec(first.request));
    const c = d.command("cancel", { opId: "op1" }, "r2");
    expect(repliesIn(c)[0]).toMatchObject({ ok: true, opId: "op1" });
    const all = [...c, ...w.serve(d, c)];
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "cancelled",
      error: { code: "CANCELLED" },
    });
    expect(w.writable()).toEqual(["db1"]);
  });

  it("refuses an unknown target, a busy cluster and an ineligible target", () => {
    const { d, config } = setup({
      servers: [{ name: "db1" }, { name: "db2", neverPromote: true }, { name: "db3" }],
    });
    void config;
    expect(repliesIn(d.command("switchover", { target: "nope" }))[0]).toMatchObject({
      ok: false,
      error: { code: "UNKNOWN_SERVER", path: "target" },
    });
    expect(repliesIn(d.command("switchover", { target: "db2" }))[0]).toMatchObject({
      ok: false,
      error: { code: "TARGET_NEVER_PROMOTE", path: "target" },
    });
    expect(repliesIn(d.command("switchover", { target: "db3" }))[0]).toMatchObject({ ok: true });
    expect(repliesIn(d.command("failover", {}))[0]).toMatchObject({
      ok: false,
      error: { code: "OPERATION_IN_PROGRESS" },
    });
  });
});

describe("manual failover", () => {
  it("refuses while the primary is healthy, unless forced (then fences it first)", () => {
    const { d, w } = setup();
    expect(repliesIn(d.command("failover"))[0]).toMatchObject({
      ok: false,
      error: { code: "PRIMARY_ALIVE" },
    });
    const a = d.command("failover", { force: true, target: "db3" }, "r2");
    expect(repliesIn(a)[0]).toMatchObject({ ok: true, opId: "op1" });
    let maxWritable = 0;
    const all = [
      ...a,
      ...w.serve(d, a, (_q, r) => {
        maxWritable = Math.max(maxWritable, w.writable().length);
        return r;
      }),
    ];
    expect(maxWritable).toBe(1);
    // One fence step before anything else; the candidate is inspected once it answered.
    const [first, second] = stepsIn(all);
    expect(first?.request).toMatchObject({ server: "db1", step: { kind: "fence", kill: "all" } });
    expect(second?.request.step.kind).toBe("inspect");
    expect(
      stepsIn(all)
        .filter((s) => s.request.server === "db1")
        .map((s) => s.request.step.kind),
    ).toEqual(["fence"]);
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { failed: "db1", candidate: "db3" },
    });
    expect(w.writable()).toEqual(["db3"]);
  });
});

describe("pull from a more advanced replica that may not be promoted", () => {
  it("the candidate first pulls the transactions only the other replica has", () => {
    const { d, w } = setup({
      servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", neverPromote: true }],
    });
    const extra = w.write("db1", 3);
    w.flowOn("db3"); // db2 misses them
    w.kill("db1");
    d.advance(10);
    w.advance(10);
    const a = w.observe(d);
    const all = [...a, ...w.serve(d, a)];
    const seq = all.map(summarize);
    expect(seq).toContain("step db2 change-master 'marina_pull'->db3");
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { candidate: "db2" },
    });
    expect(w.s("db2").applied).toEqual(expect.arrayContaining(extra));
    expect(w.s("db2").conns).toEqual([]);
  });
});

describe("leadership", () => {
  it("a follower records knowledge but acts on nothing, and answers commands NOT_LEADER", () => {
    const config = makeConfig();
    const d = new Driver(config);
    d.leader = false;
    const w = new World(config, T0);
    w.observe(d);
    w.kill("db1");
    const a = [...w.observe(d), ...d.command("switchover")];
    expect(a.map(summarize)).toEqual(["reply switchover NOT_LEADER"]);
    expect(Object.keys(d.state.samples)).toEqual(["db1", "db2", "db3"]);
  });

  it("a new leader resumes a running failover: pending steps are sent again with its epoch", () => {
    const { d, w, pass } = setup();
    w.kill("db1");
    pass(10);
    const a = w.observe(d);
    const inflight = stepsIn(a);
    expect(inflight.length).toBeGreaterThan(0);
    // The leader dies here; a new one loads the persisted state (JSON) and resumes.
    const persisted = JSON.parse(JSON.stringify(d.state));
    const d2 = new Driver(d.config, {}, d.now + 3000);
    d2.state = persisted;
    d2.epoch = 2;
    const r = d2.feed({ kind: "resume" });
    const resent = stepsIn(r);
    expect(resent.map((s) => s.request.stepId).sort()).toEqual(
      inflight.map((s) => s.request.stepId).sort(),
    );
    expect(resent.every((s) => s.request.epoch === 2)).toBe(true);
    w.now = d2.now;
    const all = [...r, ...w.serve(d2, r)];
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "succeeded", epoch: 2 });
    expect(d2.state.primary).toBe("db2");
  });
});

describe("maintenance and status", () => {
  it("a replica in maintenance is never promoted; MaintenanceSet is reported once", () => {
    const { d, w, cycle } = setup();
    const m = d.command("set-maintenance", { server: "db2", reason: "disk swap" });
    expect(situationsIn(m)).toEqual(["MaintenanceSet db2"]);
    w.kill("db1");
    const all = cycle();
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { candidate: "db3" },
    });
    // Left alone: not repointed.
    expect(
      stepsIn(all)
        .filter((s) => s.request.server === "db2")
        .map((s) => s.request.step.kind),
    ).toEqual(["inspect"]);
    expect(opEventsIn(all).at(-1)?.message).toMatch(/left alone: db2 \(in maintenance\)/);
    const st = repliesIn(d.command("status"))[0];
    expect(st).toMatchObject({
      ok: true,
      data: { primary: "db3", maintenance: ["db2"], fenced: ["db1"] },
    });
    expect(JSON.parse(JSON.stringify(st))).toEqual(st);
  });
});
