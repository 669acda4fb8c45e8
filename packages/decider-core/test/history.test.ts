import { type OperationRecord, OperationRecord as RecordSchema } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  fitHistoryRecord,
  historyRequest,
  operationRecord,
  phasesOf,
  refusalRecord,
} from "../src/history.js";
import type { Action, Operation, OpStep } from "../src/index.js";
import { initialState } from "../src/index.js";
import type { Env } from "../src/plans/common.js";
import {
  command,
  Driver,
  execute,
  healthyObservations,
  makeConfig,
  okResult,
  opEventsIn,
  repliesIn,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

const recordsIn = (actions: Action[]): OperationRecord[] =>
  actions.flatMap((a) => (a.kind === "history" ? [a.record] : []));

/** An env as the record builders read it: the cluster, the time, the decider and its epoch. */
function envAt(now: number): Env {
  return {
    state: initialState("main"),
    ctx: { now, source: "decider-a", epoch: 7 },
  } as unknown as Env;
}

function step(over: Partial<OpStep>): OpStep {
  return {
    id: "op1-1",
    key: "fence",
    phase: "demote",
    server: "db1",
    step: { kind: "inspect" },
    after: [],
    bestEffort: false,
    promotes: false,
    status: "ok",
    attempts: 1,
    sentAt: T0 + 10,
    timeoutMs: 5000,
    guardRounds: 0,
    result: { data: {}, error: null },
    endedAt: T0 + 25,
    ...over,
  } as OpStep;
}

function operation(over: Partial<Operation> = {}): Operation {
  return {
    opId: "op1",
    kind: "switchover",
    status: "running",
    phase: "repoint",
    phaseStartedAt: T0,
    phaseDeadline: null,
    startedAt: T0,
    requestId: null,
    reason: "switchover from db1 to db2",
    servers: { old: "db1", target: "db2" },
    timings: {},
    steps: [],
    agentCalls: [],
    seq: 0,
    promoted: false,
    cancelRequested: false,
    error: null,
    plan: { kind: "switchover" } as Operation["plan"],
    ...over,
  };
}

describe("fitHistoryRecord", () => {
  const long = "x".repeat(4000);
  const big = (n: number) =>
    operationRecord(
      operation({
        steps: Array.from({ length: n }, (_, i) =>
          step({
            id: `op1-${i}`,
            key: `k${i}`,
            status: "failed",
            result: { data: {}, error: { code: "SQL_ERROR", message: long, retryable: false } },
          } as Partial<OpStep>),
        ),
      }),
      envAt(T0 + 100),
      "failed",
      "many failed steps",
      null,
    );
  const bytes = (r: OperationRecord) => new TextEncoder().encode(JSON.stringify(r)).length;

  it("leaves a record that fits as it is", () => {
    const r = big(3);
    expect(fitHistoryRecord(r)).toBe(r);
  });

  it("clips long errors, then leaves the last steps out, to fit one message", () => {
    const r = big(500);
    expect(bytes(r)).toBeGreaterThan(1_000_000);
    const clipped = fitHistoryRecord(r);
    expect(bytes(clipped)).toBeLessThanOrEqual(900_000);
    expect(clipped.steps).toHaveLength(500);
    expect(clipped.steps[0]!.error!.message.length).toBeLessThanOrEqual(200);
    const cut = fitHistoryRecord(r, 20_000);
    expect(bytes(cut)).toBeLessThanOrEqual(20_000);
    expect(cut.steps.length + cut.stepsOmitted).toBe(500);
    expect(RecordSchema.safeParse(cut).success).toBe(true);
  });
});

describe("operationRecord (pure)", () => {
  it("lists phases in the order they ran, those ended by a failure from their steps", () => {
    const op = operation({
      timings: { demote: 40, "read-pos": 12, total: 90 },
      steps: [step({ phase: "demote" }), step({ phase: "read-pos" }), step({ phase: "catch-up" })],
    });
    expect(phasesOf(op)).toEqual([
      { name: "demote", durationMs: 40 },
      { name: "read-pos", durationMs: 12 },
      { name: "catch-up", durationMs: 0 },
    ]);
  });

  it.each([
    ["answered", { sentAt: T0 + 10, endedAt: T0 + 25 }, 15],
    ["never answered", { sentAt: T0 + 10, endedAt: null }, null],
    ["state of an older version", { sentAt: T0 + 10, endedAt: undefined }, null],
    // An answer to an earlier attempt, the step sent again since: not this attempt's end.
    ["resent after an answer", { sentAt: T0 + 30, endedAt: T0 + 25 }, null],
    ["never sent", { sentAt: null, endedAt: null }, null],
  ] as const)("a step %s takes %s ms", (_what, times, took) => {
    const op = operation({ steps: [step(times)] });
    const r = operationRecord(op, envAt(T0 + 100), "succeeded", "done", null);
    expect(r.steps[0]!.durationMs).toBe(took);
    expect(r.steps[0]!.endedAt).toBe(took === null ? null : new Date(T0 + 25).toISOString());
    expect(RecordSchema.safeParse(r).success).toBe(true);
  });

  it("says who started it: a command (with its request) or Marina itself", () => {
    const request = historyRequest(
      command("switchover", { target: "db2", reason: "kernel upgrade" }),
      { source: "marina-cli:ops@host1", messageId: "m-1" },
      T0,
    );
    const byCommand = operationRecord(
      operation({ requestId: "r1", request }),
      envAt(T0 + 100),
      "succeeded",
      "db2 is the primary",
      null,
    );
    expect(byCommand).toMatchObject({
      trigger: "command",
      request: {
        verb: "switchover",
        payload: { target: "db2", reason: "kernel upgrade", force: false, timeoutMs: 10_000 },
        source: "marina-cli:ops@host1",
        messageId: "m-1",
        receivedAt: new Date(T0).toISOString(),
      },
      decider: "decider-a",
      epoch: 7,
      durationMs: 100,
    });
    // A state written before the history kept no request: still a command.
    expect(
      operationRecord(operation({ requestId: "r1" }), envAt(T0), "failed", "x", null),
    ).toMatchObject({ trigger: "command", request: null });
    expect(operationRecord(operation(), envAt(T0), "failed", "x", null)).toMatchObject({
      trigger: "automatic",
      request: null,
    });
  });

  it("keeps a record within the message limits however many steps ran", () => {
    const steps = Array.from({ length: 600 }, (_, i) => step({ id: `op1-${i}`, key: `k${i}` }));
    const r = operationRecord(operation({ steps }), envAt(T0), "failed", "x".repeat(9000), null);
    expect(r.steps).toHaveLength(512);
    expect(r.stepsOmitted).toBe(88);
    expect(r.message).toHaveLength(4096);
    expect(RecordSchema.safeParse(r).success).toBe(true);
  });
});

describe("refusalRecord (pure)", () => {
  const refused = {
    ok: false as const,
    verb: "failover",
    error: { code: "PRIMARY_ALIVE" as const, message: "db1 is healthy", retryable: false },
  };
  const req = (payload: Record<string, unknown>, verb = "failover") => ({
    verb,
    payload,
    source: null,
    messageId: null,
    receivedAt: new Date(T0).toISOString(),
  });

  it("records refused operation commands, with a stable id", () => {
    const a = refusalRecord(envAt(T0), "r1", req({ target: "db2", force: false }), refused);
    const b = refusalRecord(envAt(T0), "r1", req({ target: "db2", force: false }), refused);
    expect(a).toMatchObject({
      kind: "failover",
      outcome: "refused",
      trigger: "command",
      reason: "failover requested",
      servers: { target: "db2" },
      error: { code: "PRIMARY_ALIVE" },
      durationMs: 0,
    });
    expect(a!.id).toBe(b!.id);
    expect(a!.id).not.toBe(refusalRecord(envAt(T0), "r2", req({}), refused)!.id);
    expect(RecordSchema.safeParse(a).success).toBe(true);
  });

  it("leaves out accepted commands, other verbs and dry runs", () => {
    const accepted = { ok: true as const, verb: "failover", message: "started", opId: "op1" };
    expect(refusalRecord(envAt(T0), "r1", req({}), accepted)).toBeNull();
    expect(
      refusalRecord(envAt(T0), "r1", req({ server: "db2" }, "set-maintenance"), refused),
    ).toBeNull();
    expect(refusalRecord(envAt(T0), "r1", req({ dryRun: true }), refused)).toBeNull();
  });
});

describe("history records from decide()", () => {
  function started() {
    const config = makeConfig();
    const d = new Driver(config);
    const healthy = healthyObservations(config);
    d.round(healthy);
    return { d, healthy };
  }

  it("a switchover by command: one record at its end, with the request and every step timed", () => {
    const { d, healthy } = started();
    const a = d.feed({
      kind: "command",
      requestId: "r1",
      command: command("switchover", { target: "db2", reason: "planned" }),
      origin: { source: "marina-cli:ops@host1", messageId: "abc-1" },
    });
    expect(recordsIn(a)).toEqual([]);
    const all = [
      ...a,
      ...execute(d, a, (req) =>
        req.step.kind === "inspect" && req.server === "db1"
          ? okResult(req.stepId, { ...healthy.db1!, readOnly: true })
          : okResult(req.stepId),
      ),
    ];
    const final = opEventsIn(all).at(-1)!;
    expect(final.state).toBe("succeeded");
    const records = recordsIn(all);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({
      cluster: "main",
      id: final.opId,
      kind: "switchover",
      outcome: "succeeded",
      trigger: "command",
      message: final.message,
      error: null,
      request: {
        verb: "switchover",
        source: "marina-cli:ops@host1",
        messageId: "abc-1",
        payload: { target: "db2", reason: "planned" },
      },
      servers: final.servers,
      startedAt: final.startedAt,
      endedAt: final.endedAt,
    });
    // The phases and their times are the operation's own.
    const { total, ...phases } = final.timings;
    expect(r.durationMs).toBe(total);
    expect(r.phases.map((p) => [p.name, p.durationMs])).toEqual(Object.entries(phases));
    // Every step sent is there, answered, with its time (the scripted executor answers one
    // step per ms, in the order they were sent).
    const sent = all.filter((x) => x.kind === "step" && x.request.opId === final.opId);
    expect(r.steps.map((s) => s.id).sort()).toEqual(
      sent.map((x) => (x.kind === "step" ? x.request.stepId : "")).sort(),
    );
    for (const s of r.steps) {
      expect(s, s.id).toMatchObject({ status: "ok", error: null });
      expect(s.durationMs, s.id).toBeGreaterThanOrEqual(1);
      expect(Date.parse(s.endedAt!) - Date.parse(s.sentAt!)).toBe(s.durationMs);
    }
    // The record comes right after the operation's last event.
    const i = all.findIndex((x) => x.kind === "history");
    expect(all[i - 1]).toMatchObject({ kind: "operation", event: { state: "succeeded" } });
  });

  it("a refused switchover is recorded; a refused maintenance and a follower's answer are not", () => {
    const { d } = started();
    const a = d.command("switchover", { target: "zz" });
    expect(repliesIn(a)[0]).toMatchObject({ ok: false, error: { code: "UNKNOWN_SERVER" } });
    expect(recordsIn(a)).toMatchObject([
      {
        kind: "switchover",
        outcome: "refused",
        trigger: "command",
        error: { code: "UNKNOWN_SERVER", path: "target" },
        request: { verb: "switchover", payload: { target: "zz" }, source: null },
        servers: { target: "zz" },
      },
    ]);
    expect(recordsIn(d.command("set-maintenance", { server: "zz" }, "r2"))).toEqual([]);
    d.leader = false;
    expect(recordsIn(d.command("failover", {}, "r3"))).toEqual([]);
  });

  it("an automatic failover is recorded as automatic, with its failure evidence as reason", () => {
    const config = makeConfig();
    const d = new Driver(config);
    const w = new World(config, T0);
    const pass = (ms: number) => {
      d.advance(ms);
      w.advance(ms);
    };
    let a = w.observe(d);
    w.serve(d, a);
    w.write("db1", 3);
    w.flow();
    w.kill("db1");
    pass(10);
    a = w.observe(d);
    const all = [...a, ...w.serve(d, a)];
    const records = recordsIn(all);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: "failover",
      outcome: "succeeded",
      trigger: "automatic",
      request: null,
      servers: { failed: "db1" },
    });
    expect(records[0]!.reason).toMatch(/unreachable by m1/);
    expect(records[0]!.steps.length).toBeGreaterThan(3);
  });
});
