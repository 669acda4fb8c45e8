// Flashback (issue 17 part 2) in the simulated world: the command's refusals (a table), the
// plan's steps, failover.autoFlashback after the save, the fallback to autoRebuild's rules
// when the extra transactions cannot be undone, a failure part-way, and the dry-run.
import type { ExecRequest, ExecResult, UndoVerdict } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import { Driver, eventsIn, makeConfig, opEventsIn, repliesIn, stepsIn, T0 } from "./helpers.js";
import { World } from "./world.js";

type Intercept = (req: ExecRequest, r: ExecResult) => ExecResult | null;

const NOT_UNDOABLE: UndoVerdict = {
  undoable: false,
  reason: "0-1-12: DDL transaction; DDL: ALTER TABLE app.t ADD c INT",
  transactions: [
    {
      gtid: "0-1-12",
      undoable: false,
      reason: "DDL transaction; DDL: ALTER TABLE app.t ADD c INT",
      tables: [],
      rows: { insert: 0, update: 0, delete: 0 },
    },
  ],
  count: 1,
  tables: [],
  rows: { insert: 0, update: 0, delete: 0 },
};

function setup(over: { failover?: Record<string, unknown>; save?: boolean } = {}) {
  const config = makeConfig({
    failover: { autoRejoin: true, ...(over.failover ?? {}) },
    ...(over.save === false ? {} : { saveBinlogs: { dir: "/var/lib/marina/saved" } }),
  });
  const d = new Driver(config);
  const w = new World(config, T0);
  const cycle = (ms = 500, intercept?: Intercept) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a, intercept)];
  };
  cycle(0);
  /** db1 commits what nobody gets, dies, db2 takes over and writes, db1 returns. */
  const diverge = (intercept?: Intercept) => {
    w.write("db1", 3);
    w.flow();
    w.write("db1", 2);
    const extra = w.s("db1").applied.at(-1)!;
    w.kill("db1");
    cycle();
    w.write("db2", 5);
    w.flow();
    w.restart("db1", false);
    return { extra, actions: [...cycle(500, intercept), ...cycle(500, intercept)] };
  };
  const command = (payload: Record<string, unknown>, intercept?: Intercept) => {
    const a = d.command("flashback", payload);
    return [...a, ...w.serve(d, a, intercept)];
  };
  return { d, w, cycle, diverge, command };
}

const kinds = (actions: Action[]) => stepsIn(actions).map((s) => s.request.step.kind);
const replyOf = (actions: Action[]) => repliesIn(actions)[0]!;

describe("cmd.flashback refusals", () => {
  it.each([
    ["an unknown server", { server: "db9" }, "UNKNOWN_SERVER", /db9/],
    ["the primary", { server: "db2" }, "NOT_APPLICABLE", /db2 is the primary/],
    ["a server that is not diverged", { server: "db3" }, "NOT_APPLICABLE", /not flagged diverged/],
  ])("%s", (_n, payload, code, message) => {
    const { diverge, command } = setup();
    diverge();
    const r = replyOf(command(payload));
    expect(r).toMatchObject({ ok: false, error: { code } });
    if (!r.ok) expect(r.error.message).toMatch(message);
  });

  it("without saveBinlogs: nothing was saved nor judged", () => {
    const { diverge, command } = setup({ save: false });
    diverge();
    const r = replyOf(command({ server: "db1" }));
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/saveBinlogs is not set.*rebuild db1 instead/);
  });

  it("before the save is done", () => {
    const { diverge, command } = setup();
    // The save's answer never comes.
    diverge((req, r) => (req.step.kind === "save-binlogs" ? null : r));
    const r = replyOf(command({ server: "db1" }));
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/are being saved: a flashback comes after the save/);
  });

  it("when the saved events cannot be undone: NOT_UNDOABLE with the reason, nothing sent", () => {
    const { w, diverge, command } = setup();
    w.saveVerdict = NOT_UNDOABLE;
    diverge();
    const a = command({ server: "db1" });
    const r = replyOf(a);
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_UNDOABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/DDL: ALTER TABLE app\.t ADD c INT; rebuild it/);
    expect(stepsIn(a)).toEqual([]);
  });

  it("when another server replicates from it (its binlogs are reset)", () => {
    const { w, cycle, diverge, command } = setup();
    diverge();
    // db3 was left replicating from db1 (by hand).
    w.s("db3").conns[0]!.source = "db1";
    cycle();
    const a = command({ server: "db1" });
    const r = replyOf(a);
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/db3 replicates from db1: a flashback resets/);
    expect(kinds(a)).not.toContain("flashback");
  });

  it("when it has more than one replication connection (one is rejoined)", () => {
    const { w, cycle, diverge, command } = setup();
    diverge();
    // db1 (the old primary) replicates from nobody; made multi-source by hand: two links.
    const db1 = w.s("db1");
    const model = w.s("db3").conns[0]!;
    db1.conns.push({ ...model, name: "a", source: "db2" }, { ...model, name: "b", source: "db2" });
    cycle();
    const r = replyOf(command({ server: "db1" }));
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/db1 has 2 replication connections/);
  });

  it("when an executor of an earlier release saved without a verdict", () => {
    const { w, diverge, command } = setup();
    w.saveVerdict = null;
    diverge();
    const r = replyOf(command({ server: "db1" }));
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_UNDOABLE" } });
  });
});

describe("the flashback operation", () => {
  it("fences, undoes from the fork point, rejoins and compares the touched tables", () => {
    const { d, w, diverge, command, cycle } = setup();
    const { extra, actions } = diverge();
    expect(eventsIn(actions).find((e) => e.situation === "BinlogsSaved")?.details).toMatchObject({
      undoable: true,
      undoReason: null,
    });
    const a = command({ server: "db1" });
    expect(replyOf(a)).toMatchObject({ ok: true, verb: "flashback" });
    expect(kinds(a)).toEqual([
      "fence",
      "inspect",
      "inspect",
      "flashback",
      "inspect",
      "inspect",
      "set-semi-sync",
      "stop-replication",
      "set-gtid-slave-pos",
      "change-master",
      "start-replication",
      "verify-replicating",
      "compare-tables",
    ]);
    const fb = stepsIn(a).find((s) => s.request.step.kind === "flashback")!.request.step;
    const [, sid, seq] = extra.split("-");
    // db2 has db1's GTIDs up to the fork: the last of them.
    expect(fb).toEqual({
      kind: "flashback",
      extraGtids: extra,
      forkPoint: `0-${sid}-${Number(seq) - 2}`,
      timeoutMs: 300_000,
    });
    const cmp = stepsIn(a).find((s) => s.request.step.kind === "compare-tables")!.request.step;
    expect(cmp).toMatchObject({ source: "db2", tables: [{ schema: "app", table: "t" }] });
    const ops = opEventsIn(a);
    const end = ops.at(-1)!;
    expect(end).toMatchObject({ kind: "flashback", state: "succeeded" });
    expect(end.message).toMatch(/undid 2 transactions on app\.t/);
    expect(end.message).toMatch(/the binlogs and the reverse are in \/saved\/main-db1-/);
    expect(end.message).toMatch(/the save in \/saved\/main-db1-/);
    expect(end.message).toMatch(/app\.t equal to db2's at/);
    expect(d.state.diverged).toEqual({});
    expect(d.state.exPrimaries).toEqual({});
    // db1 replicates db2 in the world, and stays a replica.
    const later = [...cycle(), ...cycle()];
    expect(w.s("db1").conns.map((c) => [c.source, c.io, c.sql])).toEqual([["db2", true, true]]);
    expect(eventsIn(later).map((e) => e.situation)).not.toContain("OldPrimaryDiverged");
  });

  it("a failure part-way leaves it fenced, flagged with what was done, not retried by itself", () => {
    const { d, diverge, cycle } = setup({ failover: { autoFlashback: true } });
    const applyFails: Intercept = (req, r) =>
      req.step.kind === "flashback"
        ? {
            ...r,
            ok: false,
            data: { path: "/saved/x", stage: "apply" },
            error: { code: "TOOL_FAILED", message: "ERROR 1032 at line 40", retryable: false },
          }
        : r;
    const { actions } = diverge(applyFails);
    const end = opEventsIn(actions).find((o) => o.kind === "flashback" && o.state !== "running");
    expect(end?.state).toBe("failed");
    expect(end?.message).toMatch(/stays read-only and flagged diverged/);
    expect(end?.message).toMatch(
      /stopped at apply \(binlogs and reverse in \/saved\/x\): its data may be partly undone/,
    );
    expect(d.state.diverged.db1?.reason).toMatch(/^flashback failed .*partly undone/);
    expect(d.state.flashbackFailures?.db1).toBeDefined();
    // Not again, automatically.
    const later = [...cycle(), ...cycle(10_000), ...cycle(60_000)];
    expect(kinds(later)).not.toContain("flashback");
    // And the flashback step is never sent twice in one operation.
    expect(kinds(actions).filter((k) => k === "flashback")).toHaveLength(1);
  });

  it("tables that differ after the rejoin: replication stopped again, flagged with what was undone", () => {
    const { d, w, diverge, command } = setup();
    diverge();
    const differ: Intercept = (req, r) =>
      req.step.kind === "compare-tables"
        ? {
            ...r,
            ok: false,
            data: {},
            error: {
              code: "DATA_MISMATCH",
              message: "app.t of db1 differ from db2's at 0-2-20: replication left stopped",
              retryable: false,
            },
          }
        : r;
    const a = command({ server: "db1" }, differ);
    expect(kinds(a).slice(-2)).toEqual(["compare-tables", "stop-replication"]);
    const end = opEventsIn(a).at(-1)!;
    expect(end).toMatchObject({ kind: "flashback", state: "failed" });
    expect(end.error?.code).toBe("DATA_MISMATCH");
    expect(end.message).toMatch(/undid 2 transactions on app\.t .*, but it was not rejoined/);
    expect(d.state.diverged.db1?.situation).toBe("OldPrimaryDiverged");
    expect(d.state.exPrimaries.db1).toBeUndefined();
    expect(w.s("db1").readOnly).toBe(true);
    expect(w.s("db1").conns.every((c) => !c.io && !c.sql)).toBe(true);
  });

  it("a lost answer to the flashback step is not sent again", () => {
    const { diverge, command, d } = setup();
    diverge();
    const lost: Intercept = (req, r) =>
      req.step.kind === "flashback"
        ? {
            ...r,
            ok: false,
            data: {},
            error: { code: "EXECUTOR_LOST", message: "silent", retryable: true },
          }
        : r;
    const a = command({ server: "db1" }, lost);
    expect(kinds(a).filter((k) => k === "flashback")).toHaveLength(1);
    expect(d.state.diverged.db1?.reason).toMatch(/partly undone/);
  });
});

describe("a change of leader during the flashback step", () => {
  it("does not send it again: failed, flagged, the server left fenced", () => {
    const { d, w, diverge, command } = setup();
    diverge();
    // The step went out; its answer never came (the leader died).
    const a = command({ server: "db1" }, (req, r) => (req.step.kind === "flashback" ? null : r));
    expect(kinds(a).filter((k) => k === "flashback")).toHaveLength(1);
    d.epoch += 1;
    const resumed = d.feed({ kind: "resume" });
    const after = [...resumed, ...w.serve(d, resumed)];
    expect(kinds(after)).not.toContain("flashback");
    const end = opEventsIn(after).at(-1);
    expect(end).toMatchObject({ kind: "flashback", state: "failed" });
    expect(end?.message).toMatch(
      /answer was lost with a change of leader; it may have run, in part/,
    );
    expect(d.state.diverged.db1?.reason).toMatch(/partly undone/);
    expect(w.s("db1").readOnly).toBe(true);
  });
});

describe("failover.autoFlashback", () => {
  it("flashes back and rejoins once the save is done", () => {
    const { d, w, diverge } = setup({ failover: { autoFlashback: true, autoRebuild: true } });
    const { actions } = diverge();
    const ks = kinds(actions);
    // The save first, then the flashback.
    expect(ks.indexOf("save-binlogs")).toBeGreaterThanOrEqual(0);
    expect(ks.indexOf("flashback")).toBeGreaterThan(ks.indexOf("save-binlogs"));
    const ops = opEventsIn(actions).filter((o) => o.state !== "running");
    expect(ops.map((o) => [o.kind, o.state])).toContainEqual(["flashback", "succeeded"]);
    expect(ops.map((o) => o.kind)).not.toContain("rebuild");
    expect(d.state.diverged).toEqual({});
    expect(w.s("db1").conns.map((c) => c.source)).toEqual(["db2"]);
  });

  it("leaves what cannot be undone to the rebuild rules", () => {
    const { d, w, diverge, cycle } = setup({ failover: { autoFlashback: true } });
    w.saveVerdict = NOT_UNDOABLE;
    const { actions } = diverge();
    const later = [...actions, ...cycle(), ...cycle(10_000)];
    expect(kinds(later)).not.toContain("flashback");
    expect(d.state.diverged.db1).toBeDefined();
    const saved = eventsIn(later).find((e) => e.situation === "BinlogsSaved");
    expect(saved?.reason).toMatch(/cannot be flashed back: 0-1-12: DDL/);
    expect(saved?.details).toMatchObject({ undoable: false });
  });
});

describe("the flashback dry-run", () => {
  it("shows the verdict per transaction and the plan, changing nothing", () => {
    const { d, w, diverge } = setup();
    w.saveVerdict = {
      undoable: true,
      reason: "",
      transactions: [
        {
          gtid: "0-1-14",
          undoable: true,
          reason: "",
          tables: [{ schema: "app", table: "t" }],
          rows: { insert: 1, update: 0, delete: 0 },
        },
      ],
      count: 1,
      tables: [{ schema: "app", table: "t" }],
      rows: { insert: 1, update: 0, delete: 0 },
    };
    diverge();
    const before = JSON.stringify(d.state);
    const r = replyOf(d.command("flashback", { server: "db1", dryRun: true }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dryRun?.outcome).toBe("accepted");
    expect(r.dryRun?.undo?.transactions.map((t) => t.gtid)).toEqual(["0-1-14"]);
    expect(r.dryRun?.operation?.phases.map((p) => p.name)).toEqual([
      "fence",
      "inspect",
      "flashback",
      "reinspect",
      "prepare",
      "attach",
      "compare",
    ]);
    expect(JSON.stringify(d.state)).toBe(before);
  });

  it("shows the reason when it falls back to a rebuild", () => {
    const { d, w, diverge } = setup();
    w.saveVerdict = NOT_UNDOABLE;
    diverge();
    const r = replyOf(d.command("flashback", { server: "db1", dryRun: true }));
    if (!r.ok) throw new Error("dry-run answered with an error");
    expect(r.dryRun).toMatchObject({ outcome: "refused", error: { code: "NOT_UNDOABLE" } });
    expect(r.dryRun?.undo?.transactions[0]).toMatchObject({ gtid: "0-1-12", undoable: false });
    expect(r.message).toMatch(/would be refused \(NOT_UNDOABLE\).*DDL/);
  });
});
