// Hooks that can veto (plans/hooks.ts, engine/post-hooks.ts): the pre phase is planned after
// the candidate is chosen and before anything changes a server; a pre hook that fails or a
// veto reply blocks an automatic failover (FailoverBlocked, code veto, held for vetoHoldMs,
// not counted for the cooldown) and a switchover without force, never a failover command or
// a forced switchover; post hooks run once the operation ended and never change its result.
import type { ExecResult, OperationRecord, ServerObservation } from "@marina/contracts";
import { DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import {
  conn,
  Driver,
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
  ])("$what: pre phase $pre, after inspect, before anything changes", ({ hooks, pre }) => {
    const { d, lost, kill } = dying(hooks);
    const start = kill();
    const all = [...start, ...execute(d, start, executor(lost))];
    const seq = kinds(all);
    const firstChange = seq.indexOf("drain-relay-log");
    expect(seq.slice(0, firstChange).filter((k) => k !== "inspect")).toEqual(pre);
    // Every hook step after every inspection.
    const lastInspect = seq.lastIndexOf("inspect");
    for (const k of pre) expect(seq.indexOf(k as never)).toBeGreaterThan(lastInspect);
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
      all = [...all, ...d.feed({ kind: "tick" })];
    }
    const end = opEventsIn(all).at(-1);
    if (!blocked) {
      expect(end?.state).toBe("succeeded");
      expect(d.state.primary).toBe("db2");
      return;
    }
    expect(end).toMatchObject({ state: "failed", error: { code: "VETOED" } });
    expect(end?.message).toMatch(/nothing was changed/);
    // Nothing but reads and the hooks was sent; db1 is still the primary, nothing promoted.
    expect(new Set(kinds(all))).toEqual(new Set(["inspect", "run-hook", "ask-veto"]));
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

describe("post hooks", () => {
  it.each([
    { post: "ok", note: /hook postFailover exited 0/ },
    { post: "fail", note: /hook postFailover failed \(the result stands\)/ },
  ] as const)(
    "run after the failover ended ($post), told the new primary; the result stands",
    ({ post, note }) => {
      const { d, lost, kill } = dying({ postFailover: HOOK });
      const start = kill();
      const all = [...start, ...execute(d, start, executor(lost, { post }))];
      const seq = kinds(all);
      expect(seq.at(-1)).toBe("run-hook");
      const step = stepsIn(all).at(-1)!.request;
      expect(step.server).toBe("db2");
      expect(step.step).toMatchObject({
        kind: "run-hook",
        hook: "postFailover",
        context: { oldPrimary: "db1", newPrimary: "db2", result: "succeeded", error: null },
      });
      const ends = opEventsIn(all).filter((e) => e.state !== "running");
      expect(ends).toHaveLength(1);
      expect(ends[0]?.state).toBe("succeeded");
      expect(ends[0]?.message).toMatch(note);
      expect(
        history(all)
          .at(-1)
          ?.hooks?.map((h) => `${h.phase}:${h.hook}:${h.status}`),
      ).toEqual([`post-hook:postFailover:${post === "ok" ? "ok" : "failed"}`]);
    },
  );

  it("run after a failure too, without a new primary; never after a veto", () => {
    const { d, lost, kill } = dying({ preFailover: HOOK, postFailover: HOOK });
    const vetoed = kill();
    const a = [...vetoed, ...execute(d, vetoed, executor(lost, { hook: "fail" }))];
    expect(stepsIn(a).filter((s) => s.request.step.kind === "run-hook")).toHaveLength(1);
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
    const post = stepsIn(all).find(
      (s) => s.request.step.kind === "run-hook" && s.request.step.hook === "postFailover",
    );
    expect(post?.request.step).toMatchObject({
      context: { newPrimary: null, result: "failed", error: expect.stringMatching(/boom/) },
    });
    expect(opEventsIn(all).at(-1)?.state).toBe("failed");
  });

  it("a cancel while the post hook runs changes nothing", () => {
    const { d, lost, kill } = dying({ postFailover: HOOK });
    const start = kill();
    execute(d, start, executor(lost, { post: "silent" }));
    expect(d.state.operation?.phase).toBe("post-hook");
    const r = repliesIn(d.command("cancel", { opId: d.state.operation!.opId }, "c1"))[0];
    expect(r).toMatchObject({ ok: true, message: /post hook is running/ });
    d.advance(10_000);
    const out = d.feed({ kind: "tick" });
    expect(opEventsIn(out).at(-1)).toMatchObject({ state: "succeeded" });
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
