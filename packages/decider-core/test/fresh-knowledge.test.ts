// Right after an operation, the latest samples of the servers it changed were taken in the
// middle of it: a command judged on them was refused for good (TARGET_NOT_ELIGIBLE "db1 does
// not replicate from db2"). Such servers are "not yet confirmed": the command gets a
// retryable refusal until a sample (or our own inspection) newer than the change arrives.
import { describe, expect, it } from "vitest";
import {
  INSPECTED,
  observedSinceChange,
  recordInspection,
  recordSample,
} from "../src/knowledge.js";
import { initialState } from "../src/state.js";
import {
  conn,
  Driver,
  execute,
  healthyObservations,
  makeConfig,
  obs,
  okResult,
  opEventsIn,
  repliesIn,
  sample,
} from "./helpers.js";

function switchedToDb2() {
  const config = makeConfig();
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  const a = d.command("switchover", { target: "db2" });
  const all = [
    ...a,
    ...execute(d, a, (req) =>
      okResult(
        req.stepId,
        req.step.kind === "inspect" && req.server === "db1"
          ? { ...healthy.db1!, readOnly: true }
          : {},
      ),
    ),
  ];
  expect(opEventsIn(all).at(-1)).toMatchObject({ opId: "op1", state: "succeeded" });
  expect(d.state.primary).toBe("db2");
  // the servers as they are after the switchover: db2 primary, db1 and db3 replicate from it
  const pos = "0-1-100";
  const now = {
    db1: obs({ serverId: 1, gtidBinlogPos: pos, gtidCurrentPos: pos, gtidSlavePos: pos }),
    db2: obs({ serverId: 2, readOnly: false, gtidBinlogPos: pos, gtidCurrentPos: pos }),
    db3: obs({ serverId: 3, gtidBinlogPos: pos, gtidCurrentPos: pos, gtidSlavePos: pos }),
  };
  now.db1.replication = [conn(config, "db2", { gtidIoPos: pos })];
  now.db3.replication = [conn(config, "db2", { gtidIoPos: pos })];
  return { d, now };
}

describe("knowledge right after an operation", () => {
  it("a switchover back at once is refused as retryable, then starts once the servers are observed", () => {
    const { d, now } = switchedToDb2();
    const early = repliesIn(d.command("switchover", { target: "db1" }, "r2"))[0];
    expect(early).toMatchObject({
      ok: false,
      error: {
        code: "NOT_CONFIRMED",
        retryable: true,
        message: /db1 .*not observed since/,
      },
    });
    // also without a target: every replica the choice reads must be confirmed
    const any = repliesIn(d.command("switchover", {}, "r3"))[0];
    expect(any).toMatchObject({ ok: false, error: { retryable: true } });
    expect(d.state.operation).toBeNull();

    d.advance(100);
    d.round(now);
    const later = repliesIn(d.command("switchover", { target: "db1" }, "r4"))[0];
    expect(later).toMatchObject({ ok: true, opId: "op2" });
  });

  it("a failover with a target right after is refused as retryable too, never TARGET_NOT_ELIGIBLE", () => {
    const { d, now } = switchedToDb2();
    d.advance(100);
    d.round({ db2: null }); // db2 dies at once; db1 and db3 not sampled since the switchover
    const r = repliesIn(d.command("failover", { target: "db3", force: true }, "r2"))[0];
    expect(r).toMatchObject({ ok: false, error: { retryable: true } });
    expect(r?.ok === false && r.error.code).not.toBe("TARGET_NOT_ELIGIBLE");
    void now;
  });

  it("our own inspection counts as an observation taken after our changes", () => {
    const config = makeConfig();
    const state = initialState(config.name);
    const o = healthyObservations(config).db2!;
    state.stepContact.db2 = 1000;
    expect(observedSinceChange(state, "db2")).toBe(false);
    expect(recordInspection(state, "db2", { ...o }, 1000)).toBe(true);
    expect(state.lastObservation.db2).toMatchObject({ at: 1000, monitor: INSPECTED });
    expect(observedSinceChange(state, "db2")).toBe(true);
    // a later change makes it stale again
    state.stepContact.db2 = 1001;
    expect(observedSinceChange(state, "db2")).toBe(false);
    // data that does not fit the contract is not recorded
    expect(recordInspection(state, "db3", { readOnly: true }, 1002)).toBe(false);
    expect(state.lastObservation.db3).toBeUndefined();
  });

  it("a sample whose probe began before our change does not count as taken after it", () => {
    const config = makeConfig();
    const state = initialState(config.name);
    const o = healthyObservations(config).db2!;
    state.stepContact.db2 = 1000;
    // received 10 ms after the change, but the probe ran for 20 ms: it began before it
    recordSample(state, config, { ...sample(config, "db2", o), latencyMs: 20 }, 1010);
    expect(observedSinceChange(state, "db2")).toBe(false);
    recordSample(state, config, { ...sample(config, "db2", o), latencyMs: 5 }, 1030);
    expect(observedSinceChange(state, "db2")).toBe(true);
  });
});
