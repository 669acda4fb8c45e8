// Hooks that can veto (plans/hooks.ts, engine/post-hooks.ts): the pre phase comes first,
// before a failover's inspections and anything that changes a server; a pre hook that fails
// or a veto reply blocks an automatic failover (FailoverBlocked, code veto, held for
// vetoHoldMs, not counted for the cooldown) and a switchover without force, never a failover
// command or a forced switchover; a failover whose primary came back during the pre phase
// ends there; post hooks run detached, once the operation ended and was published, and never
// change its result or hold the decider busy.
import type { ExecResult, OperationRecord, ServerObservation } from "@marina/contracts";
import { DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import {
  conn,
  Driver,
  errResult,
  eventsIn,
  execute,
  healthyObservations,
  makeConfig,
  okResult,
  opEventsIn,
  repliesIn,
  type StepAction,
  stepsIn,
} from "./helpers.js";

const HOOK = { argv: ["/usr/local/bin/check"], timeoutMs: 3_000 };
const VETO = { enabled: true, timeoutMs: 500 };

type Answer = "ok" | "fail" | "silent";

/** db1 primary of db2, db3; then db1 dies and both replicas lose it. Returns the failover's start. */
function dying(hooks: Record<string, unknown> | undefined) {
  const config = makeConfig(hooks ? { hooks } : {});
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  d.advance(500);
  const lost: Record<string, ServerObservation> = {};
  for (const n of ["db2", "db3"]) {
    lost[n] = {
      ...healthy[n]!,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          ioThread: "Connecting",
          secondsBehindMaster: null,
        }),
      ],
    };
  }
  const kill = () => [
    ...d.health("db1", null),
    ...Object.entries(lost).flatMap(([n, o]) => d.health(n, o)),
  ];
  return { d, config, healthy, lost, kill };
}

function hookError(kind: "run-hook" | "ask-veto"): ExecResult["error"] {
  return kind === "run-hook"
    ? { code: "HOOK_FAILED", message: "hook preFailover exited 1", retryable: false }
    : { code: "VETOED", message: "vetoed: freeze-bot: release", retryable: false };
}

/** An executor: SQL steps succeed (inspect reads `views`), hooks answer as told. */
function executor(
  views: Record<string, ServerObservation>,
  hooks: { hook?: Answer; veto?: Answer; post?: Answer } = {},
) {
  return (req: StepAction["request"]): ExecResult | null => {
    const s = req.step;
    if (s.kind === "inspect") return okResult(req.stepId, { ...views[req.server] });
    if (s.kind === "run-hook" || s.kind === "ask-veto") {
      const how =
        s.kind === "ask-veto" ? hooks.veto : s.hook.startsWith("post") ? hooks.post : hooks.hook;
      if (how === "silent") return null;
      if (how === "fail") {
        const data =
          s.kind === "run-hook"
            ? { exitCode: 1, signal: null, timedOut: false, stdout: "", stderr: "freeze" }
            : { vetoed: true, replies: [], invalid: 0, reason: "freeze-bot: release" };
        return { ...okResult(req.stepId, data), ok: false, error: hookError(s.kind) };
      }
      return okResult(req.stepId, s.kind === "run-hook" ? { exitCode: 0, stdout: "fine" } : {});
    }
    return okResult(req.stepId);
  };
}

const kinds = (actions: Action[]) => stepsIn(actions).map((a) => a.request.step.kind);
const history = (actions: Action[]): OperationRecord[] =>
  actions.flatMap((a) => (a.kind === "history" ? [a.record] : []));

describe("pre hooks: planning", () => {
  it.each([
    { what: "no hooks", hooks: undefined, pre: [] },
    { what: "a preFailover hook", hooks: { preFailover: HOOK }, pre: ["run-hook"] },
    { what: "the veto subject", hooks: { veto: VETO }, pre: ["ask-veto"] },
    { what: "both", hooks: { preFailover: HOOK, veto: VETO }, pre: ["run-hook", "ask-veto"] },
    // Other hooks do not make a pre phase.
    { what: "only post hooks", hooks: { postFailover: HOOK, preSwitchover: HOOK }, pre: [] },
  ])("$what: pre phase $pre, before the inspections and any change", ({ hooks, pre }) => {
    const { d, lost, kill } = dying(hooks);
    const start = kill();
    const all = [...start, ...execute(d, start, executor(lost))];
    const seq = kinds(all);
    const firstChange = seq.indexOf("drain-relay-log");
    expect(seq.slice(0, firstChange).filter((k) => k !== "inspect")).toEqual(pre);
    // Every hook step before every inspection: nothing read before the hooks is used after.
    const firstInspect = seq.indexOf("inspect");
    for (const k of pre) expect(seq.lastIndexOf(k as never)).toBeLessThan(firstInspect);
    const phases = opEventsIn(all).map((e) => e.phase);
    expect(phases.includes("pre-hook")).toBe(pre.length > 0);
    expect(opEventsIn(all).at(-1)?.state).toBe("succeeded");
    // The hook steps name the candidate, and carry what the hook is told.
    const hook = stepsIn(all).find(
      (a) => a.request.step.kind === "run-hook" && a.request.step.hook === "preFailover",
    );
    if (hook?.request.step.kind === "run-hook") {
      expect(hook.request.server).toBe("db2");
      expect(hook.request.step).toMatchObject({
        hook: "preFailover",
        timeoutMs: 3_000,
        context: {
          operation: "failover",
          trigger: "automatic",
          forced: false,
          oldPrimary: "db1",
          newPrimary: "db2",
          result: null,
        },
      });
    }
  });
});

describe("pre hooks: the verdict on an automatic failover", () => {
  it.each([
    { hook: "ok", veto: "ok", blocked: false, why: null },
    { hook: "fail", veto: "ok", blocked: true, why: /hook preFailover exited 1: freeze/ },
    { hook: "ok", veto: "fail", blocked: true, why: /veto subject: vetoed: freeze-bot: release/ },
    { hook: "fail", veto: "fail", blocked: true, why: /exited 1.*freeze-bot/ },
    // No answer within the hook's timeout (its executor lost): no consent.
    { hook: "silent", veto: "ok", blocked: true, why: /TIMEOUT|no reply/i },
  ] as const)("hook $hook, veto $veto → blocked $blocked", ({ hook, veto, blocked, why }) => {
    const { d, lost, kill } = dying({ preFailover: HOOK, veto: VETO });
    const start = kill();
    let all = [...start, ...execute(d, start, executor(lost, { hook, veto }))];
    if (hook === "silent") {
      d.advance(10_000);
      // The monitors still see db1 dead.
      all = [...all, ...kill(), ...d.feed({ kind: "tick" })];
    }
    const end = opEventsIn(all).at(-1);
    if (!blocked) {
      expect(end?.state).toBe("succeeded");
      expect(d.state.primary).toBe("db2");
      return;
    }
    expect(end).toMatchObject({ state: "failed", error: { code: "VETOED" } });
    expect(end?.message).toMatch(/nothing was changed/);
    // Nothing but the hooks was sent; db1 is still the primary, nothing promoted.
    expect(new Set(kinds(all))).toEqual(new Set(["run-hook", "ask-veto"]));
    expect(d.state.primary).toBe("db1");
    const ev = eventsIn(all).filter((e) => e.situation === "FailoverBlocked");
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ server: "db1", details: { code: "veto", candidate: "db2" } });
    expect(ev[0]?.reason).toMatch(why!);
    // Held, not counted: the cooldown and the window do not see it.
    expect(d.state.failovers).toEqual([]);
    expect(d.state.vetoHold).toMatchObject({ primary: "db1", until: d.now + 30_000 });
    // The record says which hook vetoed.
    const rec = history(all).at(-1);
    expect(rec?.hooks?.some((h) => h.vetoed)).toBe(true);
  });

  it("holds automatic failover for vetoHoldMs without another event, then asks again", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK, vetoHoldMs: 5_000 });
    const start = kill();
    execute(d, start, executor(lost, { hook: "fail" }));
    const opsBefore = d.state.history.length;
    d.advance(4_000);
    const held = kill();
    expect(stepsIn(held)).toEqual([]);
    expect(eventsIn(held).filter((e) => e.situation === "FailoverBlocked")).toEqual([]);
    expect(d.state.operation).toBeNull();
    d.advance(1_001);
    const again = kill();
    expect(d.state.operation?.kind).toBe("failover");
    const out = execute(d, again, executor(lost, { hook: "ok" }));
    expect(opEventsIn(out).at(-1)?.state).toBe("succeeded");
    expect(d.state.history.length).toBe(opsBefore + 1);
    expect(d.state.primary).toBe("db2");
  });

  it("reset-failover-limits lifts the hold at once", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK });
    execute(d, kill(), executor(lost, { hook: "fail" }));
    d.advance(100);
    expect(stepsIn(kill())).toEqual([]);
    const r = repliesIn(d.command("reset-failover-limits"))[0];
    expect(r).toMatchObject({ ok: true, message: /hold of the last veto lifted/ });
    d.advance(100);
    kill();
    expect(d.state.operation?.kind).toBe("failover");
  });
});

describe("pre hooks: what a long one lets change", () => {
  const LONG = { ...HOOK, timeoutMs: 600_000 };
  const hookStep = (actions: Action[]) =>
    stepsIn(actions).find((a) => a.request.step.kind === "run-hook")!;

  it("a primary back during the hook: the failover ends, nothing changed, not counted", () => {
    const { d, healthy, kill } = dying({ preFailover: LONG });
    const start = kill();
    expect(kinds(start)).toEqual(["run-hook"]);
    // Minutes later, db1 is back and sampled healthy; then the hook says yes.
    for (let i = 0; i < 6; i++) {
      d.advance(10_000);
      d.round(healthy);
    }
    const out = d.result(hookStep(start), okResult(hookStep(start).request.stepId));
    expect(stepsIn(out)).toEqual([]);
    const end = opEventsIn(out).at(-1);
    expect(end).toMatchObject({ state: "failed", error: { code: "PRIMARY_ALIVE" } });
    expect(end?.message).toMatch(/db1 is no longer confirmed failed.*nothing was changed/);
    expect(d.state.primary).toBe("db1");
    expect(d.state.failovers).toEqual([]);
    expect(d.state.operation).toBeNull();
  });

  it("positions are read after the hook: the candidate is chosen from them", () => {
    const { d, config, lost, kill } = dying({ preFailover: LONG });
    const start = kill();
    // The hook is told the candidate of the samples.
    expect(hookStep(start).request.step).toMatchObject({ context: { newPrimary: "db2" } });
    expect(kinds(start)).not.toContain("inspect");
    d.advance(60_000);
    kill();
    // By the time the hook answers, db3 has received more than db2 (what the inspections
    // taken now show, not what was known before the hook).
    const later = {
      ...lost,
      db3: {
        ...lost.db3!,
        gtidCurrentPos: "0-1-120",
        replication: [
          conn(config, "db1", {
            gtidIoPos: "0-1-120",
            ioThread: "Connecting",
            secondsBehindMaster: null,
          }),
        ],
      },
    };
    const out = d.result(hookStep(start), okResult(hookStep(start).request.stepId));
    expect(kinds(out).every((k) => k === "inspect")).toBe(true);
    const all = [...out, ...execute(d, out, executor(later))];
    expect(opEventsIn(all).at(-1)?.state).toBe("succeeded");
    // Either db3 is promoted, or db2 pulled 0-1-120 from it: nothing db3 had is lost.
    const p = d.state.history.at(-1);
    const pulled = stepsIn(all).some(
      (a) => a.request.step.kind === "wait-gtid" && a.request.step.pos.includes("0-1-120"),
    );
    expect(p?.servers.candidate === "db3" || pulled).toBe(true);
  });

  /** The hook's executor is lost and the hook sent again: the phase deadline passes first. */
  function pastDeadline(d: Driver, start: Action[], samples: () => Action[]): Action[] {
    const hook = hookStep(start);
    d.advance(2_000);
    const resent = d.result(hook, errResult(hook.request.stepId, "EXECUTOR_LOST"));
    expect(stepsIn(resent).map((a) => a.request.stepId)).toEqual([hook.request.stepId]);
    d.advance(5_000); // the phase's deadline: 3 s of the hook + 2 margins
    samples();
    return d.feed({ kind: "tick" });
  }

  it("a failover command whose pre phase runs past its deadline goes on", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK });
    d.command("set-maintenance", { server: "db1", reason: "test" }, "m1");
    kill();
    const start = d.command("failover", {}, "r2");
    const out = pastDeadline(d, start, kill);
    expect(kinds(out)).toContain("inspect");
    const all = [...out, ...execute(d, out, executor(lost))];
    const end = opEventsIn(all).at(-1);
    expect(end?.state).toBe("succeeded");
    expect(end?.message).toMatch(/WARNING, not obeyed \(forced\): hook preFailover/);
  });

  it.each([
    { force: false, state: "failed" },
    { force: true, state: "succeeded" },
  ])(
    "a switchover whose pre phase runs past its deadline, force $force → $state",
    ({ force, state }) => {
      const config = makeConfig({ hooks: { preSwitchover: HOOK, postSwitchover: HOOK } });
      const d = new Driver(config);
      const healthy = healthyObservations(config);
      d.round(healthy);
      const start = d.command("switchover", { target: "db2", force });
      const out = pastDeadline(d, start, () => d.round(healthy));
      const all = [...out, ...execute(d, out, executor(healthy as never))];
      const end = opEventsIn([...out, ...all]).at(-1);
      expect(end?.state).toBe(state);
      if (force) {
        expect(end?.message).toMatch(/WARNING, not obeyed/);
        return;
      }
      expect(end).toMatchObject({ error: { code: "VETOED" } });
      expect(end?.message).toMatch(/hook preSwitchover/);
      // A vetoed switchover did not happen: no post hook.
      expect(postStep(all)).toBeUndefined();
      expect(d.state.primary).toBe("db1");
    },
  );
});

describe("pre hooks never veto a failover command", () => {
  it("the failover runs, the hook's no kept as a warning", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK, veto: VETO });
    // Automation off for this primary: an operator fails over.
    d.command("set-maintenance", { server: "db1", reason: "test" }, "m1");
    kill();
    expect(d.state.operation).toBeNull();
    const start = d.command("failover", {}, "r2");
    expect(repliesIn(start)[0]).toMatchObject({ ok: true });
    const all = [...start, ...execute(d, start, executor(lost, { hook: "fail", veto: "fail" }))];
    const ctx = stepsIn(all).find((a) => a.request.step.kind === "run-hook")?.request.step;
    expect(ctx).toMatchObject({ context: { trigger: "command", forced: true } });
    const end = opEventsIn(all).at(-1);
    expect(end?.state).toBe("succeeded");
    expect(end?.message).toMatch(/WARNING, not obeyed \(forced\): hook preFailover exited 1/);
    expect(d.state.primary).toBe("db2");
  });
});

describe("switchover", () => {
  function healthyCluster(hooks: Record<string, unknown>) {
    const config = makeConfig({ hooks });
    const d = new Driver(config);
    const healthy = healthyObservations(config);
    d.round(healthy);
    return { d, healthy };
  }

  it.each([
    { force: false, blocked: true },
    { force: true, blocked: false },
  ])("a failing preSwitchover hook, force $force → blocked $blocked", ({ force, blocked }) => {
    const { d, healthy } = healthyCluster({ preSwitchover: HOOK });
    const start = d.command("switchover", { target: "db2", force });
    expect(stepsIn(start).map((a) => a.request.step.kind)).toEqual(["run-hook"]);
    const all = [...start, ...execute(d, start, executor(healthy as never, { hook: "fail" }))];
    const end = opEventsIn(all).at(-1);
    if (blocked) {
      expect(end).toMatchObject({ state: "failed", error: { code: "VETOED" } });
      expect(new Set(kinds(all))).toEqual(new Set(["run-hook"]));
      expect(d.state.primary).toBe("db1");
    } else {
      expect(end?.state).toBe("succeeded");
      expect(end?.message).toMatch(/WARNING, not obeyed/);
      expect(d.state.primary).toBe("db2");
    }
  });
});

/** The post hook's step in `actions`, if one was sent. */
const postStep = (actions: Action[]) =>
  stepsIn(actions).find(
    (a) => a.request.step.kind === "run-hook" && a.request.step.hook.startsWith("post"),
  );

describe("post hooks", () => {
  it.each([
    { post: "ok", note: /hook postFailover exited 0/ },
    { post: "fail", note: /hook postFailover failed \(the result stands\)/ },
  ] as const)(
    "run detached after the failover ended and was published ($post); its result goes to the record",
    ({ post, note }) => {
      const { d, lost, kill } = dying({ postFailover: HOOK });
      const start = kill();
      // Everything but the post hook answered: the operation has ended already.
      const ended = [...start, ...execute(d, start, executor(lost, { post: "silent" }))];
      const ends = opEventsIn(ended).filter((e) => e.state !== "running");
      expect(ends).toHaveLength(1);
      expect(ends[0]?.state).toBe("succeeded");
      expect(ends[0]?.message).toMatch(/hook postFailover runs next/);
      expect(d.state.operation).toBeNull();
      expect(history(ended).at(-1)?.hooks).toBeUndefined();
      const step = postStep(ended)!;
      expect(step.request).toMatchObject({ server: "db2", opId: ends[0]?.opId });
      expect(step.request.step).toMatchObject({
        kind: "run-hook",
        hook: "postFailover",
        context: { oldPrimary: "db1", newPrimary: "db2", result: "succeeded", error: null },
      });
      expect(Object.keys(d.state.postHooks ?? {})).toEqual([ends[0]?.opId]);
      // The hook answers: the record is stored again with it; no operation event.
      d.advance(500);
      const out = d.result(step, executor(lost, { post })(step.request)!);
      expect(opEventsIn(out)).toEqual([]);
      const rec = history(out);
      expect(rec).toHaveLength(1);
      expect(rec[0]).toMatchObject({ id: ends[0]?.opId, outcome: "succeeded" });
      expect(rec[0]?.message).toMatch(note);
      expect(rec[0]?.hooks?.map((h) => `${h.phase}:${h.hook}:${h.status}`)).toEqual([
        `post-hook:postFailover:${post === "ok" ? "ok" : "failed"}`,
      ]);
      expect(d.state.postHooks).toEqual({});
    },
  );

  it("never hold the decider: the new primary dying meanwhile is failed over at once", () => {
    const { d, lost, kill } = dying({ postFailover: { ...HOOK, timeoutMs: 600_000 } });
    const start = kill();
    execute(d, start, executor(lost, { post: "silent" }));
    expect(d.state.primary).toBe("db2");
    expect(d.state.operation).toBeNull();
    expect(Object.keys(d.state.postHooks ?? {})).toHaveLength(1);
    // The operation is over: nothing left to cancel, nothing to wait for.
    const r = repliesIn(d.command("cancel", { opId: "op1" }, "c1"))[0];
    expect(r).toMatchObject({ ok: false, error: { message: "no running operation op1" } });
    // db2 (now the primary, db3 replicating from it) dies: a failover starts to db3.
    d.state.failovers = [];
    const cfg = d.config;
    const healthy = healthyObservations(cfg);
    const db3 = {
      ...healthy.db3!,
      replication: [
        conn(cfg, "db2", {
          gtidIoPos: "0-1-100",
          ioThread: "Connecting",
          secondsBehindMaster: null,
        }),
      ],
    };
    d.advance(1_000);
    d.round({ db1: null, db3 });
    d.advance(500);
    d.round({ db1: null, db2: null, db3 });
    expect(d.state.operation).toMatchObject({ kind: "failover", plan: { failed: "db2" } });
  });

  it("a post hook that never answers (its reply went to another leader) is given up", () => {
    const { d, lost, kill } = dying({ postFailover: HOOK });
    const start = kill();
    const ended = execute(d, start, executor(lost, { post: "silent" }));
    const opId = postStep(ended)!.request.opId;
    d.advance(3_000 + 2 * 2_000 - 1);
    expect(history(d.feed({ kind: "tick" }))).toEqual([]);
    d.advance(1);
    const rec = history(d.feed({ kind: "tick" }));
    expect(rec[0]).toMatchObject({ id: opId, outcome: "succeeded" });
    expect(rec[0]?.message).toMatch(/hook postFailover failed \(the result stands\): no reply/);
    expect(d.state.postHooks).toEqual({});
  });

  it("a lost executor: sent again, to another one", () => {
    const { d, lost, kill } = dying({ postFailover: HOOK });
    const start = kill();
    const step = postStep(execute(d, start, executor(lost, { post: "silent" })))!;
    const again = d.result(step, errResult(step.request.stepId, "EXECUTOR_LOST"));
    expect(postStep(again)?.request.stepId).toBe(step.request.stepId);
    expect(history(again)).toEqual([]);
  });

  it("run after a failure too, without a new primary; never after a veto", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK, postFailover: HOOK });
    const vetoed = kill();
    const a = [...vetoed, ...execute(d, vetoed, executor(lost, { hook: "fail" }))];
    expect(stepsIn(a).filter((s) => s.request.step.kind === "run-hook")).toHaveLength(1);
    expect(d.state.postHooks).toEqual({});
    // The reset lets the failover start at once (the primary is still dead).
    const start = d.command("reset-failover-limits");
    expect(d.state.operation?.kind).toBe("failover");
    // The candidate's drain fails: the failover fails before promotion.
    const failing = (req: StepAction["request"]): ExecResult | null =>
      req.step.kind === "drain-relay-log"
        ? {
            ...okResult(req.stepId),
            ok: false,
            error: { code: "SQL_ERROR", message: "boom", retryable: false },
          }
        : executor(lost, { hook: "ok" })(req);
    const all = [...start, ...execute(d, start, failing)];
    expect(postStep(all)?.request.step).toMatchObject({
      context: { newPrimary: null, result: "failed", error: expect.stringMatching(/boom/) },
    });
    expect(opEventsIn(all).at(-1)?.state).toBe("failed");
  });
});

describe("dry-run", () => {
  it("shows the pre hook in the plan of a switchover", () => {
    const config = makeConfig({ hooks: { preSwitchover: HOOK, veto: VETO } });
    const d = new Driver(config);
    d.round(healthyObservations(config));
    const reply = repliesIn(d.command("switchover", { target: "db2", dryRun: true }))[0];
    const report = DryRunReport.parse((reply as { dryRun: unknown }).dryRun);
    const first = report.operation?.phases[0];
    expect(first?.name).toBe("pre-hook");
    expect(first?.steps.map((s) => s.step.kind)).toEqual(["run-hook", "ask-veto"]);
    expect(first?.steps[0]?.sql[0]).toMatch(/run \["\/usr\/local\/bin\/check"\] on an executor/);
    expect(report.operation?.phases[1]?.name).toBe("demote");
  });
});
