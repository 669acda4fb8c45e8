import type { ExecRequest } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  Driver,
  errResult,
  makeConfig,
  okResult,
  opEventsIn,
  type StepAction,
  situationsIn,
  stepsIn,
  summarize,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

// Semi-sync around fences and promotions:
// - every fence turns semi-sync master off BEFORE read_only=1 (read_only waits for commits in
//   flight, and a commit waiting for an ack that never comes holds it for
//   rpl_semi_sync_master_timeout);
// - a new primary gets semi-sync master only once a replica is verified replicating from it
//   (with none, its first commit would stall for that timeout); else the first rejoin
//   enables it.

function setup(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const w = new World(config, T0);
  const pass = (ms: number) => {
    d.advance(ms);
    w.advance(ms);
  };
  const cycle = (ms = 500, intercept?: Parameters<World["serve"]>[2]) => {
    pass(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a, intercept)];
  };
  cycle(0);
  return { config, d, w, pass, cycle };
}

const on = (server: string) => (r: ExecRequest) => r.server === server;
const kinds = (reqs: ExecRequest[]) =>
  reqs.map((r) => {
    const s = r.step;
    return s.kind === "set-semi-sync"
      ? `semi master=${s.master ?? "-"}`
      : s.kind === "set-read-only"
        ? `ro ${s.readOnly}`
        : s.kind;
  });
const semiMasterOn = (a: StepAction, server: string) =>
  a.request.server === server &&
  a.request.step.kind === "set-semi-sync" &&
  a.request.step.master === true;

describe("fences turn semi-sync master off before read_only", () => {
  it("a returning diverged old primary: semi-sync off, then read_only, then its clients, each after the one before answered", () => {
    const { d, w, cycle, pass } = setup({ semiSync: true });
    w.s("db1").semiMaster = true;
    w.write("db1", 1); // only db1 has it: it will come back diverged
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    pass(500);
    const a = w.observe(d);
    expect(situationsIn(a)).toContain("OldPrimaryDiverged db1");
    const first = stepsIn(a).filter((s) => s.request.server === "db1");
    expect(first.map(summarize)).toEqual(["step db1 set-semi-sync"]);
    expect(first[0]!.request.step).toEqual({ kind: "set-semi-sync", master: false });
    const b = d.result(first[0]!, w.exec(first[0]!.request));
    expect(stepsIn(b).map(summarize)).toEqual(["step db1 set-read-only true"]);
    const c = d.result(stepsIn(b)[0]!, w.exec(stepsIn(b)[0]!.request));
    expect(stepsIn(c).map(summarize)).toEqual(["step db1 kill-clients"]);
    expect(stepsIn(d.result(stepsIn(c)[0]!, w.exec(stepsIn(c)[0]!.request)))).toEqual([]);
    expect(w.s("db1").semiMaster).toBe(false);
    expect(w.s("db1").readOnly).toBe(true);
  });

  it("a failed semi-sync step does not hold the fence back", () => {
    const { d, w, cycle } = setup();
    w.s("db3").readOnly = false;
    const a = cycle(500, () => null); // the fence's first step goes unanswered here
    const semi = stepsIn(a).find((s) => s.request.server === "db3")!;
    expect(semi.request.step.kind).toBe("set-semi-sync");
    const b = d.result(semi, errResult(semi.request.stepId, "SQL_ERROR", "1227 denied"));
    expect(stepsIn(b).map(summarize)).toEqual(["step db3 set-read-only true"]);
  });

  it("the chain stops when an operation takes the server over", () => {
    const { d, w, cycle, pass } = setup({ failover: { autoRejoin: false } });
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    pass(500);
    const a = w.observe(d);
    const semi = stepsIn(a).find((s) => s.request.server === "db1")!;
    expect(semi.request.step.kind).toBe("set-semi-sync");
    // An operator rejoins it before the fence's first step answered: the rejoin fences it.
    const r = d.command("rejoin", { server: "db1" });
    expect(opEventsIn(r)[0]).toMatchObject({ kind: "rejoin", state: "running" });
    const late = d.result(semi, okResult(semi.request.stepId));
    expect(stepsIn(late).filter((s) => s.request.opId === semi.request.opId)).toEqual([]);
  });

  it("rejoin: the fence phase is semi-sync off → read_only → kill", () => {
    const { w, cycle } = setup({ semiSync: true });
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    const all = cycle();
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(kinds(w.executed.filter(on("db1"))).slice(0, 3)).toEqual([
      "semi master=false",
      "ro true",
      "kill-clients",
    ]);
  });

  it("forced failover: the live old primary is fenced semi-sync first; an undo turns it back on", () => {
    const { d, w } = setup({ semiSync: true });
    w.s("db1").semiMaster = true;
    const a = d.command("failover", { force: true, target: "db3" });
    expect(stepsIn(a).map((s) => s.request.step)).toEqual([
      { kind: "set-semi-sync", master: false },
    ]);
    const all = [
      ...a,
      ...w.serve(d, a, (req, r) =>
        req.step.kind === "drain-relay-log" ? errResult(req.stepId, "SQL_ERROR", "1146") : r,
      ),
    ];
    expect(kinds(w.executed.filter(on("db1"))).slice(0, 3)).toEqual([
      "semi master=false",
      "ro true",
      "kill-clients",
    ]);
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed" });
    // Undone: writable again, with semi-sync master as it was.
    expect(kinds(w.executed.filter(on("db1"))).slice(-2)).toEqual(["ro false", "semi master=true"]);
    expect(w.s("db1").readOnly).toBe(false);
    expect(w.s("db1").semiMaster).toBe(true);
  });

  it("switchover: demote is semi-sync off → read_only → kill → stable; an undo restores semi-sync only if it was on", () => {
    for (const wasOn of [true, false]) {
      const { d, w } = setup({ semiSync: true });
      w.s("db1").semiMaster = wasOn;
      const a = d.command("switchover", { target: "db2", timeoutMs: 1000 });
      const all = [
        ...a,
        ...w.serve(d, a, (req, r) =>
          req.step.kind === "wait-gtid" ? errResult(req.stepId, "TIMEOUT", "lagging") : r,
        ),
      ];
      expect(kinds(w.executed.filter(on("db1"))).slice(0, 4)).toEqual([
        "semi master=false",
        "ro true",
        "kill-clients",
        "wait-binlog-stable",
      ]);
      expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed" });
      expect(w.s("db1").readOnly).toBe(false);
      expect(w.s("db1").semiMaster).toBe(wasOn);
      expect(
        w.executed.some(
          (r) => r.server === "db1" && r.step.kind === "set-semi-sync" && r.step.master === true,
        ),
      ).toBe(wasOn);
    }
  });
});

describe("semi-sync master on a new primary only with a replica", () => {
  it("a failover that repoints nobody leaves it off; the first rejoin turns it on", () => {
    const { d, w, cycle } = setup({ semiSync: true, servers: [{ name: "db1" }, { name: "db2" }] });
    w.kill("db1");
    const all = cycle();
    const done = opEventsIn(all).at(-1);
    expect(done).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(d.state.primary).toBe("db2");
    expect(done?.message).toMatch(/semi-sync master left off on db2/);
    expect(stepsIn(all).some((s) => semiMasterOn(s, "db2"))).toBe(false);
    expect(w.s("db2").semiMaster).toBe(false);
    // db1 returns and rejoins: once it is verified replicating, db2 gets semi-sync master.
    w.restart("db1", true);
    const back = cycle();
    expect(opEventsIn(back).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(opEventsIn(back).at(-1)?.message).toMatch(/semi-sync master enabled on db2/);
    const order = w.executed.map(
      (r) =>
        `${r.server} ${r.step.kind}${r.step.kind === "set-semi-sync" ? ` ${r.step.master}` : ""}`,
    );
    expect(order.indexOf("db2 set-semi-sync true")).toBeGreaterThan(
      order.lastIndexOf("db1 verify-replicating"),
    );
    expect(w.s("db2").semiMaster).toBe(true);
  });

  it("a failover whose repoint verified no replica leaves it off", () => {
    const { d, w, cycle } = setup({ semiSync: true });
    w.kill("db1");
    const all = cycle(500, (req, r) =>
      req.step.kind === "verify-replicating"
        ? errResult(req.stepId, "SQL_ERROR", "not replicating")
        : r,
    );
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "failover", state: "failed" });
    expect(opEventsIn(all).at(-1)?.message).toMatch(/semi-sync master left off/);
    expect(stepsIn(all).some((s) => semiMasterOn(s, d.state.primary!))).toBe(false);
  });

  it("a failover that repointed a replica enables it, after the repoint", () => {
    const { d, w, cycle } = setup({ semiSync: true });
    w.kill("db1");
    const all = cycle();
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "failover", state: "succeeded" });
    const p = d.state.primary!;
    expect(w.s(p).semiMaster).toBe(true);
    const seq = stepsIn(all).map(summarize);
    const enable = stepsIn(all).findIndex((s) => semiMasterOn(s, p));
    expect(enable).toBeGreaterThan(
      seq.lastIndexOf(`step ${p === "db2" ? "db3" : "db2"} verify-replicating ''`),
    );
  });

  it("a rejoin to a primary that already runs semi-sync master adds no step", () => {
    const { w, cycle } = setup({ semiSync: true });
    w.kill("db1");
    cycle();
    const before = w.executed.length;
    w.restart("db1", true);
    const back = cycle();
    expect(opEventsIn(back).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(opEventsIn(back).map((e) => e.phase)).not.toContain("semi-sync");
    expect(
      w.executed.slice(before).some((r) => r.server !== "db1" && r.step.kind === "set-semi-sync"),
    ).toBe(false);
  });

  it("a switchover whose repoint verified nobody leaves it off on the target", () => {
    const { d, w } = setup({ semiSync: true });
    const a = d.command("switchover", { target: "db2" });
    const all = [
      ...a,
      ...w.serve(d, a, (req, r) =>
        req.step.kind === "verify-replicating"
          ? errResult(req.stepId, "SQL_ERROR", "not replicating")
          : r,
      ),
    ];
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "switchover", state: "failed" });
    expect(opEventsIn(all).at(-1)?.message).toMatch(/semi-sync master left off on db2/);
    expect(w.s("db2").semiMaster).toBe(false);
    expect(d.state.primary).toBe("db2");
  });
});
