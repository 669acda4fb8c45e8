import type { ExecResult, ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import { defaultOptions } from "../src/options.js";
import {
  conn,
  Driver,
  errResult,
  execute,
  healthyObservations,
  makeConfig,
  obs,
  okResult,
  opEventsIn,
  type StepAction,
  stepsIn,
  summarize,
} from "./helpers.js";

// The operation engine: retries, timeouts, deadlines, failures after promotion, the write
// guard, multi-source promotion, leader changes.

type Conn = Parameters<typeof conn>[2];
const LOST: Conn = { ioThread: "Connecting", secondsBehindMaster: null };

/** db1 dies; replicas db2 (ahead) and db3 lost it: a failover starts. */
function failing(
  over: Parameters<typeof makeConfig>[0] = {},
  replicas?: Record<string, ServerObservation>,
) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  d.advance(500);
  const lost: Record<string, ServerObservation> = replicas ?? {
    db2: { ...healthy.db2!, replication: [conn(config, "db1", { gtidIoPos: "0-1-102", ...LOST })] },
    db3: { ...healthy.db3!, replication: [conn(config, "db1", { gtidIoPos: "0-1-101", ...LOST })] },
  };
  const start = [
    ...d.health("db1", null),
    ...Object.entries(lost).flatMap(([s, o]) => d.health(s, o)),
  ];
  const inspect = (server: string) => lost[server] ?? healthy[server]!;
  return { d, config, healthy, lost, start, inspect };
}

/** Answers like a healthy executor, inspect data from `inspect`. */
const fine =
  (inspect: (s: string) => ServerObservation) =>
  (req: StepAction["request"]): ExecResult =>
    okResult(req.stepId, req.step.kind === "inspect" ? inspect(req.server) : {});

describe("operation engine", () => {
  it("runs the failover phases in order with per-phase timings", () => {
    const { d, start, inspect } = failing();
    const all = [...start, ...execute(d, start, fine(inspect))];
    const phases = opEventsIn(all).map((e) => `${e.state}:${e.phase}`);
    expect(phases).toEqual([
      "running:start",
      "running:inspect",
      "running:drain",
      "running:detach",
      "running:promote",
      "running:repoint",
      "succeeded:repoint",
    ]);
    const final = opEventsIn(all).at(-1)!;
    expect(final.servers).toEqual({ failed: "db1", candidate: "db2" });
    expect(final.endedAt).not.toBeNull();
    for (const p of ["inspect", "drain", "detach", "promote", "repoint", "total"])
      expect(final.timings[p]).toBeGreaterThanOrEqual(0);
    expect(final.message).toMatch(/db2 promoted in place of db1; repointed: db3/);
  });

  it("retries a retryable failure a bounded number of times, then undoes and fails", () => {
    const { d, start, inspect } = failing();
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "reset-replication"
          ? errResult(req.stepId, "SERVER_UNREACHABLE")
          : fine(inspect)(req),
      ),
    ];
    const resets = stepsIn(all).filter((s) => s.request.step.kind === "reset-replication");
    expect(resets).toHaveLength(3);
    expect(new Set(resets.map((s) => s.request.stepId)).size).toBe(1);
    expect(resets[1]?.reason).toMatch(/attempt 2 after SERVER_UNREACHABLE/);
    const final = opEventsIn(all).at(-1);
    expect(final).toMatchObject({ state: "failed", error: { code: "SERVER_UNREACHABLE" } });
    // Before promotion: the candidate is re-attached, nobody was made writable.
    expect(stepsIn(all).map(summarize)).toEqual(
      expect.arrayContaining(["step db2 change-master ''->db1", "step db2 start-replication ''"]),
    );
    expect(stepsIn(all).some((s) => s.request.step.kind === "set-read-only")).toBe(false);
    expect(d.state.primary).toBe("db1");
  });

  it("a non-retryable error fails at once", () => {
    const { d, start, inspect } = failing();
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "drain-relay-log"
          ? errResult(req.stepId, "SQL_ERROR", "1146 table missing")
          : fine(inspect)(req),
      ),
    ];
    expect(stepsIn(all).filter((s) => s.request.step.kind === "drain-relay-log")).toHaveLength(1);
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "failed",
      error: { code: "SQL_ERROR", message: /db2: drain relay log '': 1146/ },
    });
  });

  it("tick: a step nobody answered times out and is sent again; a phase past its deadline fails", () => {
    const { d, start, inspect } = failing({}, undefined);
    // Inspections answered, the drain never is.
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "drain-relay-log" ? null : fine(inspect)(req),
      ),
    ];
    const drain = stepsIn(all).filter((s) => s.request.step.kind === "drain-relay-log");
    expect(drain).toHaveLength(1);
    const timeout = drain[0]!.timeoutMs; // drainTimeoutMs + reply margin
    d.advance(timeout + 5_000);
    const t1 = d.feed({ kind: "tick" });
    // drain-relay-log is a waiting step: its own timeout is the bound, so no retry.
    expect(opEventsIn(t1).at(-1)).toMatchObject({ state: "failed", error: { code: "TIMEOUT" } });
  });

  it("tick: an instant step that got no reply is retried with the same id", () => {
    const { d, start, inspect } = failing();
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "stop-replication" ? null : fine(inspect)(req),
      ),
    ];
    // The detach phase stops db2's and db3's links at once; neither answers.
    const stops = stepsIn(all).filter((s) => s.request.step.kind === "stop-replication");
    expect(stops.map((s) => s.request.server)).toEqual(["db2", "db3"]);
    // the core's own deadline: the reply timeout plus the margin
    const deadline = defaultOptions.stepTimeoutMs + defaultOptions.stepReplyMarginMs;
    d.advance(deadline - 1000);
    expect(stepsIn(d.feed({ kind: "tick" }))).toEqual([]);
    d.advance(2000);
    const again = stepsIn(d.feed({ kind: "tick" }));
    expect(again.map((s) => s.request.stepId)).toEqual(stops.map((s) => s.request.stepId));
    for (const a of again) expect(a.reason).toMatch(/attempt 2 after TIMEOUT/);
  });

  it("a step no executor took (STEP_NOT_TAKEN) does not use up its attempts", () => {
    const { d, start, inspect } = failing();
    let lost = 0;
    const all = [
      ...start,
      ...execute(d, start, (req) => {
        if (req.step.kind === "reset-replication" && lost < 5) {
          lost += 1;
          return errResult(req.stepId, "STEP_NOT_TAKEN");
        }
        return fine(inspect)(req);
      }),
    ];
    // Five losses, more than maxStepAttempts, and still the step went through.
    expect(lost).toBe(5);
    expect(defaultOptions.maxStepAttempts).toBeLessThan(5);
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "succeeded" });
    expect(d.state.primary).toBe("db2");
  });

  it("a resumed operation gets its phase's full time again (the clock ran while nobody led)", () => {
    const { d, start, inspect } = failing();
    // The detach phase's stops never get an answer: the phase waits on them.
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "stop-replication" ? null : fine(inspect)(req),
      ),
    ];
    const running = opEventsIn(all).at(-1)!;
    expect(running).toMatchObject({ state: "running", phase: "detach" });
    const op = d.state.operation!;
    const budget = op.phaseDeadline! - op.phaseStartedAt;
    // Most of the phase's time passes without a leader; then one takes over.
    d.advance(budget - 500);
    const resumed = d.feed({ kind: "resume" });
    expect(opEventsIn(resumed).at(-1)?.message).toMatch(/resumed by a new leader/);
    // Past the old deadline, within the new one: the phase still runs.
    d.advance(1_000);
    expect(opEventsIn(d.feed({ kind: "tick" })).some((e) => e.state === "failed")).toBe(false);
    expect(d.state.operation?.phase).toBe("detach");
    // Time still bounds it: with no answer, the phase ends (its step's attempts run out).
    d.advance(budget);
    d.feed({ kind: "tick" });
    expect(d.state.operation?.phase).not.toBe("detach");
  });

  it("a failure after promotion does not undo: the new primary stays, the op fails with the reason", () => {
    const { d, start, inspect } = failing();
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.server === "db3" && req.step.kind === "verify-replicating"
          ? errResult(req.stepId, "SQL_ERROR", "IO error 1236")
          : fine(inspect)(req),
      ),
    ];
    const final = opEventsIn(all).at(-1);
    expect(final).toMatchObject({ state: "failed", error: { code: "SQL_ERROR" } });
    expect(final?.message).toMatch(/NOT repointed: db3 verify-replicating: IO error 1236/);
    expect(d.state.primary).toBe("db2");
    expect(
      stepsIn(all)
        .filter((s) => s.request.step.kind === "set-read-only")
        .map(summarize),
    ).toEqual(["step db2 set-read-only false"]);
    const topo = all
      .filter((a): a is Extract<Action, { kind: "topology" }> => a.kind === "topology")
      .at(-1);
    expect(topo?.topology.primary).toBe("db2");
  });

  it("if making the candidate writable fails for good, it is still the primary (never undone)", () => {
    const { d, start, inspect } = failing();
    const all = [
      ...start,
      ...execute(d, start, (req) =>
        req.step.kind === "set-read-only"
          ? errResult(req.stepId, "TIMEOUT", "no reply")
          : fine(inspect)(req),
      ),
    ];
    expect(stepsIn(all).filter((s) => s.request.step.kind === "set-read-only")).toHaveLength(3);
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "failed",
      message: /db2 was promoted but the failover did not finish/,
    });
    expect(d.state.primary).toBe("db2");
  });

  it("the write guard fences a server that turned writable before the candidate is promoted", () => {
    const { d, start, inspect, healthy } = failing();
    let turned = false;
    const side: Action[] = [];
    let held: StepAction["request"] | undefined;
    const upToFence = [
      ...start,
      ...execute(d, start, (req) => {
        if (req.step.kind === "reset-replication" && !turned) {
          turned = true;
          // Someone made db3 writable meanwhile; the monitor reports it.
          d.advance(1);
          side.push(...d.health("db3", { ...healthy.db3!, readOnly: false, replication: [] }));
        }
        if (req.step.kind === "fence") {
          held = req; // not answered yet
          return null;
        }
        return fine(inspect)(req);
      }),
    ];
    expect(side.filter((a) => a.kind === "step")).toEqual([]); // no fix outside the operation
    // One fence step, of the failover itself, killing every client: nothing else to db3.
    const fences = stepsIn(upToFence).filter((s) => s.request.step.kind === "fence");
    expect(fences.map((s) => s.request)).toEqual([held]);
    expect(held).toMatchObject({
      server: "db3",
      opId: "op1",
      step: { kind: "fence", kill: "all" },
    });
    expect(fences[0]?.reason).toMatch(
      /^failover op1 promote: fence \(read_only=1, kill all clients/,
    );
    const before = stepsIn(upToFence).map(summarize);
    expect(before.filter((x) => x.startsWith("step db3 "))).toEqual([
      "step db3 inspect",
      "step db3 stop-replication ''",
      "step db3 fence kill=all",
    ]);
    // Not made writable while the fence is unanswered.
    expect(before).not.toContain("step db2 set-read-only false");
    const answered = d.result(fences[0]!, okResult(held!.stepId));
    expect(d.state.readOnly.db3).toMatchObject({ readOnly: true, by: "step", pending: false });
    expect(stepsIn(answered).map(summarize)).toEqual(["step db2 set-read-only false"]);
    const rest = [...answered, ...execute(d, answered, fine(inspect))];
    expect(opEventsIn(rest).at(-1)).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(
      stepsIn(rest).some((s) => s.request.server === "db3" && s.request.step.kind === "fence"),
    ).toBe(false);
  });

  it("multi-source: only the connection to the failed primary is stopped and reset", () => {
    // db2 also replicates domain 7 from a server of another cluster (not configured here).
    const config = makeConfig();
    const other = (c: Conn = {}) =>
      conn(config, "db1", {
        connection: "other",
        masterHost: "10.9.9.9",
        masterPort: 3306,
        gtidIoPos: "7-9-50",
        ...c,
      });
    const healthy = healthyObservations(config);
    const ms = (main: Conn) =>
      obs({
        serverId: 2,
        gtidCurrentPos: "0-1-100,7-9-50",
        gtidBinlogPos: "0-1-100,7-9-50",
        gtidSlavePos: "0-1-100,7-9-50",
        replication: [
          conn(config, "db1", { connection: "main", gtidIoPos: "0-1-100", ...main }),
          other(),
        ],
      });
    const replicas: Record<string, ServerObservation> = {
      db2: ms(LOST),
      db3: {
        ...healthy.db3!,
        replication: [conn(config, "db1", { gtidIoPos: "0-1-99", ...LOST })],
      },
    };
    const d = new Driver(config);
    d.round({ ...healthy, db2: ms({}) });
    d.advance(500);
    const start = [
      ...d.health("db1", null),
      ...d.health("db2", replicas.db2!),
      ...d.health("db3", replicas.db3!),
    ];
    const all = [
      ...start,
      ...execute(
        d,
        start,
        fine((s) => replicas[s]!),
      ),
    ];
    const db2 = stepsIn(all)
      .filter((s) => s.request.server === "db2")
      .map(summarize);
    expect(db2).toEqual([
      "step db2 inspect",
      "step db2 drain-relay-log 'main'",
      "step db2 stop-replication 'main'",
      "step db2 reset-replication 'main'",
      "step db2 set-read-only false",
    ]);
    expect(
      stepsIn(all).some(
        (s) => "connection" in s.request.step && s.request.step.connection === "other",
      ),
    ).toBe(false);
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { candidate: "db2" },
    });
    // The repointed replica keeps its connection name.
    expect(
      stepsIn(all)
        .filter((s) => s.request.server === "db3")
        .map(summarize),
    ).toContain("step db3 change-master ''->db2");
  });

  it("results for unknown operations or steps, and duplicates, change nothing", () => {
    const { d, start, inspect } = failing();
    const first = stepsIn(start)[0]!;
    const r1 = d.result(first, fine(inspect)(first.request));
    expect(r1.length).toBeGreaterThanOrEqual(0);
    const before = JSON.stringify(d.state);
    expect(d.result(first, fine(inspect)(first.request))).toEqual([]);
    expect(
      d.feed({ kind: "step-result", opId: "nope", stepId: "nope-1", result: okResult("nope-1") }),
    ).toEqual([]);
    expect(JSON.stringify(d.state)).toBe(before);
  });

  it("does not modify the state it is given", () => {
    const { d, start, inspect } = failing();
    const frozen = JSON.stringify(d.state);
    const snapshot = d.state;
    const first = stepsIn(start)[0]!;
    d.result(first, fine(inspect)(first.request));
    expect(JSON.stringify(snapshot)).toBe(frozen);
  });
});
