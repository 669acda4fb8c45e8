import type { ExecResult, ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import {
  conn,
  Driver,
  errResult,
  execute,
  healthyObservations,
  makeConfig,
  okResult,
  opEventsIn,
  type StepAction,
  stepsIn,
  summarize,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

// Failover: every live replica's link to the failed primary is stopped in ONE parallel phase
// (detach), after the drain and before the promotion. On a frozen primary with semi-sync each
// STOP SLAVE costs ~2 s; one after the other (candidate at promotion, the others at the
// repoint) that was paid twice.

type Conn = Parameters<typeof conn>[2];
const LOST: Conn = { ioThread: "Connecting", secondsBehindMaster: null };

function failing(over: Parameters<typeof makeConfig>[0] = {}, extra: Record<string, Conn[]> = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  d.advance(500);
  const lost: Record<string, ServerObservation> = {};
  for (const [name, o] of Object.entries(healthy)) {
    if (name === "db1") continue;
    lost[name] = {
      ...o,
      replication: [
        conn(config, "db1", { gtidIoPos: name === "db2" ? "0-1-102" : "0-1-101", ...LOST }),
        ...(extra[name] ?? []).map((c) => conn(config, "db1", c)),
      ],
    };
  }
  const start = [
    ...d.health("db1", null),
    ...Object.entries(lost).flatMap(([s, o]) => d.health(s, o)),
  ];
  const inspect = (server: string) => lost[server] ?? healthy[server]!;
  return { d, config, healthy, lost, start, inspect };
}

const fine =
  (inspect: (s: string) => ServerObservation) =>
  (req: StepAction["request"]): ExecResult =>
    okResult(req.stepId, req.step.kind === "inspect" ? inspect(req.server) : {});

/** Answers the steps of `actions` one by one (not what they lead to); returns every output. */
function answerEach(d: Driver, actions: Action[], answer: (s: StepAction) => ExecResult) {
  return stepsIn(actions).map((s) => {
    d.advance(1);
    return d.result(s, answer(s));
  });
}

describe("failover detach phase", () => {
  it("stops the candidate's and every other replica's link to the failed primary at once, after the drain", () => {
    const { d, start, inspect } = failing({
      servers: [{ name: "db1" }, { name: "db2" }, { name: "db3" }, { name: "db4" }],
    });
    const [, , ...afterInspect] = answerEach(d, start, (s) => fine(inspect)(s.request));
    const drainPhase = afterInspect.flat();
    expect(stepsIn(drainPhase).map(summarize)).toEqual(["step db2 drain-relay-log ''"]);
    // Nothing is stopped before the candidate has applied what it received.
    const [detach] = answerEach(d, drainPhase, (s) => okResult(s.request.stepId));
    expect(opEventsIn(detach!).map((e) => e.phase)).toEqual(["detach"]);
    expect(stepsIn(detach!).map(summarize)).toEqual([
      "step db2 stop-replication ''",
      "step db3 stop-replication ''",
      "step db4 stop-replication ''",
    ]);
    // The promotion waits for all of them (a frozen primary makes each take ~2 s, in
    // parallel), then does not stop the candidate again.
    const outs = answerEach(d, detach!, (s) => okResult(s.request.stepId));
    expect(
      outs
        .slice(0, 2)
        .flat()
        .filter((a) => a.kind === "step"),
    ).toEqual([]);
    const promote = outs[2]!;
    expect(opEventsIn(promote).map((e) => e.phase)).toEqual(["promote"]);
    expect(stepsIn(promote).map(summarize)).toEqual(["step db2 reset-replication ''"]);
    const rest = execute(d, promote, fine(inspect));
    expect(opEventsIn(rest).at(-1)).toMatchObject({ state: "succeeded" });
    expect(opEventsIn(rest).at(-1)?.message).toMatch(/repointed: db3, db4/);
  });

  it("is one phase with the candidate's stop even when the candidate pulls from another replica first", () => {
    // db3 received the most but may not be promoted: db2 pulls from it.
    const config = makeConfig({
      servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", neverPromote: true }],
    });
    const d = new Driver(config);
    const w = new World(config, T0);
    w.observe(d);
    const extra = w.write("db1", 3);
    w.flowOn("db3");
    w.kill("db1");
    d.advance(10);
    w.advance(10);
    const a = w.observe(d);
    const all = [...a, ...w.serve(d, a)];
    const seq = w.executed.map(
      (r) => `${r.server} ${r.step.kind}${"connection" in r.step ? ` '${r.step.connection}'` : ""}`,
    );
    const at = (x: string) => seq.indexOf(x);
    // Both drains before either stop; both stops before the pull connection is made.
    expect(at("db2 drain-relay-log ''")).toBeLessThan(at("db2 stop-replication ''"));
    expect(at("db3 drain-relay-log ''")).toBeLessThan(at("db3 stop-replication ''"));
    expect(at("db3 stop-replication ''")).toBeLessThan(at("db2 change-master 'marina_pull'"));
    expect(opEventsIn(all).at(-1)).toMatchObject({
      state: "succeeded",
      servers: { candidate: "db2" },
    });
    expect(w.s("db2").applied).toEqual(expect.arrayContaining(extra));
    expect(w.writable()).toEqual(["db2"]);
  });

  it("multi-source: only the link to the failed primary is stopped on the other replicas", () => {
    const { d, start, inspect } = failing(
      {},
      {
        db3: [
          {
            connection: "other",
            masterHost: "10.9.9.9",
            masterPort: 3306,
            gtidIoPos: "7-9-50",
          },
        ],
      },
    );
    const all = [...start, ...execute(d, start, fine(inspect))];
    const db3 = stepsIn(all).filter((s) => s.request.server === "db3");
    const touched = db3.flatMap((s) =>
      "connection" in s.request.step ? [s.request.step.connection] : [],
    );
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.every((c) => c === "")).toBe(true);
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "succeeded" });
  });

  it("a replica whose stop fails is still repointed (best effort: the repoint stops it again)", () => {
    const { d, start, inspect } = failing();
    let failed = false;
    const all = [
      ...start,
      ...execute(d, start, (req) => {
        if (req.server === "db3" && req.step.kind === "stop-replication" && !failed) {
          failed = true;
          return errResult(req.stepId, "SQL_ERROR", "1198 something odd");
        }
        return fine(inspect)(req);
      }),
    ];
    expect(failed).toBe(true);
    const db3Stops = stepsIn(all).filter(
      (s) => s.request.server === "db3" && s.request.step.kind === "stop-replication",
    );
    expect(db3Stops).toHaveLength(2);
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "succeeded" });
    expect(opEventsIn(all).at(-1)?.message).toMatch(/repointed: db3/);
  });

  it("a failure before promotion restarts every link the detach stopped", () => {
    const config = makeConfig();
    const d = new Driver(config);
    const w = new World(config, T0);
    w.observe(d);
    w.kill("db1");
    d.advance(10);
    w.advance(10);
    const a = w.observe(d);
    const all = [
      ...a,
      ...w.serve(d, a, (req, r) =>
        req.step.kind === "reset-replication"
          ? errResult(req.stepId, "SQL_ERROR", "1198 refused")
          : r,
      ),
    ];
    expect(opEventsIn(all).at(-1)).toMatchObject({ state: "failed" });
    const undo = stepsIn(all)
      .filter((s) => s.reason.includes(" undo:"))
      .map(summarize);
    expect(undo).toEqual(
      expect.arrayContaining(["step db2 start-replication ''", "step db3 start-replication ''"]),
    );
    // Both replicas are back on their link to db1, and nobody became writable.
    for (const r of ["db2", "db3"]) {
      expect(w.s(r).conns.map((c) => [c.source, c.io, c.sql])).toEqual([["db1", true, true]]);
    }
    expect(w.writable()).toEqual([]);
    expect(d.state.primary).toBe("db1");
  });
});
