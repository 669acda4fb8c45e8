import type { ExecRequest } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action, DeciderOptions } from "../src/index.js";
import {
  Driver,
  errResult,
  makeConfig,
  opEventsIn,
  type StepAction,
  situationsIn,
  stepsIn,
  summarize,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

// Semi-sync around fences and promotions:
// - every fence is ONE executor step, `fence`: the executor issues read_only=1, kills the
//   client connections while it waits for the commits in flight, and turns semi-sync master
//   off only after. Semi-sync master off first would release a commit waiting for an ack as
//   an acknowledged write on an old primary, so no fence is a chain of steps any more;
// - a new primary gets semi-sync master only once a replica is verified replicating from it
//   (with none, its first commit would stall for that timeout); else the first rejoin
//   enables it.

function setup(over: Parameters<typeof makeConfig>[0] = {}, options: Partial<DeciderOptions> = {}) {
  const config = makeConfig(over);
  const d = new Driver(config, options);
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
        : s.kind === "fence"
          ? `fence kill=${s.kill}`
          : s.kind;
  });
const semiMasterOn = (a: StepAction, server: string) =>
  a.request.server === server &&
  a.request.step.kind === "set-semi-sync" &&
  a.request.step.master === true;
/** A step of the old fence chain: semi-sync master off, read_only=1, kill-clients. */
const chainStep = (r: ExecRequest) =>
  r.step.kind === "kill-clients" ||
  (r.step.kind === "set-read-only" && r.step.readOnly) ||
  (r.step.kind === "set-semi-sync" && r.step.master === false);
/** What was sent to `server` up to and including its first fence. */
const upToFence = (reqs: ExecRequest[], server: string) => {
  const mine = reqs.filter(on(server));
  const i = mine.findIndex((r) => r.step.kind === "fence");
  return i < 0 ? mine : mine.slice(0, i + 1);
};
const onlyStep = (actions: Action[], server: string) => {
  const mine = stepsIn(actions).filter((s) => s.request.server === server);
  expect(mine).toHaveLength(1);
  return mine[0]!;
};

describe("every fence is one `fence` step (read_only, kills, then semi-sync off, in the executor)", () => {
  it("a returning diverged old primary: one fence, kill=all, under `<opId>-fence`; its answer marks it read-only and nothing follows", () => {
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
    const fence = onlyStep(a, "db1");
    // The fence is the only step sent anywhere: no semi-sync, read_only or kill step around it.
    expect(stepsIn(a)).toEqual([fence]);
    const { opId } = fence.request;
    expect(fence.request.step).toEqual({ kind: "fence", kill: "all" });
    expect(fence.request.stepId).toBe(`${opId}-fence`);
    expect(fence.reason).toMatch(/^former primary diverged: fence \(read_only=1, kill all clients/);
    expect(d.state.fences.db1).toEqual({ opId, sentAt: d.now });
    expect(d.state.readOnly.db1).toMatchObject({ readOnly: false, by: "sample" });
    const answer = w.exec(fence.request);
    expect(answer.data).toMatchObject({
      readOnly: true,
      previous: { readOnly: false, master: true },
    });
    d.advance(3);
    expect(stepsIn(d.result(fence, answer))).toEqual([]);
    expect(d.state.readOnly.db1).toEqual({ readOnly: true, at: d.now, by: "step", pending: false });
    expect(d.state.stepContact.db1).toBe(d.now);
    expect(w.s("db1").semiMaster).toBe(false);
    expect(w.s("db1").readOnly).toBe(true);
  });

  it("the enforcement fence is sent again only after enforceRetryMs while the samples show the server writable", () => {
    const { d, w, cycle, pass } = setup({}, { enforceRetryMs: 2000 });
    w.write("db1", 1);
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    pass(500);
    const first = onlyStep(w.observe(d), "db1");
    expect(first.request.step).toEqual({ kind: "fence", kill: "all" });
    // Unanswered (lost): db1 stays writable, and the samples say so.
    for (const ms of [500, 500, 500, 499]) {
      pass(ms);
      expect(stepsIn(w.observe(d))).toEqual([]);
    }
    pass(1); // 2000 ms after the first
    const again = onlyStep(w.observe(d), "db1");
    expect(again.request.step).toEqual({ kind: "fence", kill: "all" });
    expect(again.request.opId).not.toBe(first.request.opId);
    expect(again.request.stepId).toBe(`${again.request.opId}-fence`);
    expect(d.state.fences.db1).toEqual({ opId: again.request.opId, sentAt: d.now });
    expect(stepsIn(d.result(again, w.exec(again.request)))).toEqual([]);
    // Read-only now: not sent again, however long it stays so.
    for (let i = 0; i < 6; i++) expect(stepsIn(cycle(1000))).toEqual([]);
    expect(w.executed.filter(on("db1")).map((r) => r.step)).toEqual([
      { kind: "fence", kill: "all" },
    ]);
  });

  it("a failed enforcement fence changes nothing in the state and sends nothing until enforceRetryMs", () => {
    const { d, w, pass } = setup();
    w.s("db3").readOnly = false;
    pass(500);
    const fence = onlyStep(w.observe(d), "db3");
    // A writable replica: its readers are not disturbed.
    expect(fence.request.step).toEqual({ kind: "fence", kill: "none" });
    const b = d.result(fence, errResult(fence.request.stepId, "SQL_ERROR", "1227 denied"));
    expect(stepsIn(b)).toEqual([]);
    expect(d.state.readOnly.db3).toMatchObject({ readOnly: false, by: "sample" });
    pass(4999);
    expect(stepsIn(w.observe(d))).toEqual([]);
    pass(1);
    const again = onlyStep(w.observe(d), "db3");
    expect(again.request.step).toEqual({ kind: "fence", kill: "none" });
    expect(again.request.opId).not.toBe(fence.request.opId);
  });

  it("an operation that takes the server over fences it itself; the enforcement fence is not sent again and its late answer sends nothing", () => {
    const { d, w, cycle, pass } = setup({ failover: { autoRejoin: false } });
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    pass(500);
    const enforced = onlyStep(w.observe(d), "db1");
    expect(enforced.request.step).toEqual({ kind: "fence", kill: "all" });
    // An operator rejoins it before that fence answered: the rejoin sends its own fence.
    const r = d.command("rejoin", { server: "db1" });
    const rejoin = opEventsIn(r)[0]!;
    expect(rejoin).toMatchObject({ kind: "rejoin", state: "running" });
    const own = onlyStep(r, "db1");
    expect(own.request).toMatchObject({ opId: rejoin.opId, step: { kind: "fence", kill: "all" } });
    expect(own.request.opId).not.toBe(enforced.request.opId);
    // db1 still writable past enforceRetryMs: the rejoin owns it, nothing else is sent to it.
    pass(6000);
    expect(stepsIn(w.observe(d))).toEqual([]);
    expect(stepsIn(d.result(enforced, w.exec(enforced.request)))).toEqual([]);
    const rest = [...r, ...w.serve(d, r)];
    expect(opEventsIn(rest).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    // The late enforcement fence, the rejoin's own; nothing of the old chain before them.
    expect(kinds(w.executed.filter(on("db1"))).slice(0, 3)).toEqual([
      "fence kill=all",
      "fence kill=all",
      "inspect",
    ]);
  });

  it("rejoin: the fence phase is one fence step, kill=all for a returning old primary", () => {
    const { w, cycle } = setup({ semiSync: true });
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    const all = cycle();
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    const seq = all.map(summarize);
    const fencing = seq.slice(
      seq.indexOf("op rejoin running fence") + 1,
      seq.indexOf("op rejoin running inspect"),
    );
    expect(fencing.filter((x) => x.startsWith("step"))).toEqual(["step db1 fence kill=all"]);
    expect(kinds(upToFence(w.executed, "db1"))).toEqual(["fence kill=all"]);
    // Semi-sync master is set again only in the prepare phase, after the fence answered.
    expect(kinds(w.executed.filter(on("db1"))).slice(0, 3)).toEqual([
      "fence kill=all",
      "inspect",
      "semi master=false",
    ]);
    expect(w.executed.filter(on("db1")).some((r) => r.step.kind === "kill-clients")).toBe(false);
  });

  it("rejoin: a plain replica that is not known writable is fenced with kill=none", () => {
    const { d, w, cycle } = setup({ failover: { autoRejoin: false } });
    w.s("db3").conns = []; // standalone, read-only, behind nothing
    cycle();
    const a = d.command("rejoin", { server: "db3" });
    expect(stepsIn(a).map(summarize)).toEqual(["step db3 fence kill=none"]);
    const all = [...a, ...w.serve(d, a)];
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    expect(kinds(upToFence(w.executed, "db3"))).toEqual(["fence kill=none"]);
  });

  it("forced failover: the live old primary is fenced by one step, kill=all; an undo turns semi-sync master back on only if the fence found it on", () => {
    for (const wasOn of [true, false]) {
      const { d, w } = setup({ semiSync: true });
      w.s("db1").semiMaster = wasOn;
      const a = d.command("failover", { force: true, target: "db3" });
      expect(stepsIn(a).map((s) => s.request)).toEqual([
        expect.objectContaining({ server: "db1", step: { kind: "fence", kill: "all" } }),
      ]);
      const all = [
        ...a,
        ...w.serve(d, a, (req, r) =>
          req.step.kind === "drain-relay-log" ? errResult(req.stepId, "SQL_ERROR", "1146") : r,
        ),
      ];
      const db1 = kinds(w.executed.filter(on("db1")));
      expect(db1[0]).toBe("fence kill=all");
      expect(w.executed.filter(on("db1")).some(chainStep)).toBe(false);
      expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed" });
      // Undone: writable again, then semi-sync master as it was.
      expect(db1.slice(db1.indexOf("ro false"))).toEqual(
        wasOn ? ["ro false", "semi master=true"] : ["ro false"],
      );
      expect(w.s("db1").readOnly).toBe(false);
      expect(w.s("db1").semiMaster).toBe(wasOn);
    }
  });

  it("the undo reads semi-sync master from the fence's own answer (previous.master)", () => {
    for (const said of [true, false]) {
      const { d, w } = setup({ semiSync: true });
      w.s("db1").semiMaster = !said; // the world disagrees: only the answer counts
      const a = d.command("failover", { force: true, target: "db3" });
      const all = [
        ...a,
        ...w.serve(d, a, (req, r) =>
          req.step.kind === "fence"
            ? { ...r, data: { ...r.data, previous: { readOnly: false, master: said } } }
            : req.step.kind === "drain-relay-log"
              ? errResult(req.stepId, "SQL_ERROR", "1146")
              : r,
        ),
      ];
      expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed" });
      expect(
        w.executed.some(
          (r) => r.server === "db1" && r.step.kind === "set-semi-sync" && r.step.master === true,
        ),
      ).toBe(said);
    }
  });

  it("switchover: demote is one fence (kill=unprivileged; all when forced), then wait-binlog-stable once it answered; an undo restores semi-sync only if it was on", () => {
    for (const [wasOn, force] of [
      [true, false],
      [false, false],
      [true, true],
    ] as const) {
      const { d, w } = setup({ semiSync: true });
      w.s("db1").semiMaster = wasOn;
      const a = d.command("switchover", { target: "db2", timeoutMs: 1000, force });
      const kill = force ? "all" : "unprivileged";
      // Only the fence goes out: the binlog is waited on once read_only is on.
      expect(stepsIn(a).map(summarize)).toEqual([`step db1 fence kill=${kill}`]);
      const all = [
        ...a,
        ...w.serve(d, a, (req, r) =>
          req.step.kind === "wait-gtid" ? errResult(req.stepId, "TIMEOUT", "lagging") : r,
        ),
      ];
      expect(kinds(w.executed.filter(on("db1"))).slice(0, 3)).toEqual([
        `fence kill=${kill}`,
        "wait-binlog-stable",
        "inspect",
      ]);
      expect(w.executed.filter(on("db1")).some(chainStep)).toBe(false);
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

  it("a fence step of an operation that fails is retried like any step; its answer marks the server read-only", () => {
    const { d, w } = setup();
    const a = d.command("switchover", { target: "db2" });
    const fence = onlyStep(a, "db1");
    expect(fence.request.step).toEqual({ kind: "fence", kill: "unprivileged" });
    // Lost on its way: sent again as the same step, and nothing comes after it meanwhile.
    const b = d.result(fence, errResult(fence.request.stepId, "SERVER_UNREACHABLE"));
    const retry = onlyStep(b, "db1");
    expect(stepsIn(b)).toHaveLength(1);
    expect(retry.request).toEqual(fence.request);
    expect(retry.reason).toMatch(/\(attempt 2 after SERVER_UNREACHABLE\)$/);
    expect(d.state.readOnly.db1).toMatchObject({ readOnly: false, by: "sample" });
    d.advance(5);
    const c = d.result(retry, w.exec(retry.request));
    expect(stepsIn(c).map(summarize)).toEqual(["step db1 wait-binlog-stable"]);
    expect(d.state.readOnly.db1).toEqual({ readOnly: true, at: d.now, by: "step", pending: false });
  });

  it("a fence step that fails for good fails the demotion, which is undone", () => {
    const { d, w } = setup();
    const a = d.command("switchover", { target: "db2" });
    const fence = onlyStep(a, "db1");
    const b = d.result(fence, errResult(fence.request.stepId, "SQL_ERROR", "1227 denied"));
    expect(b.map(summarize)).toEqual([
      "op switchover running undo",
      "step db1 set-read-only false",
      "topology db1 writer=- db1=primary,db2=replica,db3=replica",
    ]);
    const all = [...b, ...w.serve(d, b)];
    expect(opEventsIn(all).at(-1)).toMatchObject({
      kind: "switchover",
      state: "failed",
      error: { message: /db1: fence .*1227 denied/ },
    });
    expect(stepsIn(all).some((s) => s.request.step.kind === "wait-binlog-stable")).toBe(false);
    expect(d.state.primary).toBe("db1");
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
