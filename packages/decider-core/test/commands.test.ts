import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  conn,
  Driver,
  errResult,
  execute,
  healthyObservations,
  makeConfig,
  okResult,
  opEventsIn,
  repliesIn,
  situationsIn,
  stepsIn,
  summarize,
} from "./helpers.js";

function started(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  return { d, config, healthy };
}

const reply = (d: Driver, verb: Parameters<Driver["command"]>[0], payload: unknown = {}) =>
  repliesIn(d.command(verb, payload))[0];

describe("commands (rule 7)", () => {
  it("unknown servers are refused with UNKNOWN_SERVER naming the field", () => {
    const { d } = started();
    for (const [verb, payload, path] of [
      ["failover", { target: "zz" }, "target"],
      ["switchover", { target: "zz" }, "target"],
      ["rejoin", { server: "zz" }, "server"],
      ["rebuild", { target: "zz" }, "target"],
      ["rebuild", { target: "db2", source: "zz" }, "source"],
      ["set-maintenance", { server: "zz" }, "server"],
      ["clear-maintenance", { server: "zz" }, "server"],
    ] as const) {
      expect(reply(d, verb, payload)).toMatchObject({
        ok: false,
        verb,
        error: { code: "UNKNOWN_SERVER", path },
      });
    }
    expect(stepsIn(d.log)).toEqual([]);
  });

  it("one operation at a time: every mutating command gets OPERATION_IN_PROGRESS", () => {
    const { d } = started();
    expect(reply(d, "switchover", { target: "db2" })).toMatchObject({ ok: true, opId: "op1" });
    for (const [verb, payload] of [
      ["failover", { force: true }],
      ["switchover", {}],
      ["rejoin", { server: "db3" }],
      ["rebuild", { target: "db3" }],
    ] as const) {
      expect(reply(d, verb, payload)).toMatchObject({
        ok: false,
        error: { code: "OPERATION_IN_PROGRESS", retryable: true },
      });
    }
    // status and maintenance still answer.
    expect(reply(d, "status")).toMatchObject({
      ok: true,
      data: { operation: { opId: "op1", kind: "switchover" } },
    });
  });

  it("set-maintenance and clear-maintenance are idempotent", () => {
    const { d } = started();
    expect(reply(d, "set-maintenance", { server: "db3", reason: "kernel" })).toMatchObject({
      ok: true,
    });
    expect(d.state.maintenance.db3?.reason).toBe("kernel");
    expect(reply(d, "clear-maintenance", { server: "db3" })).toMatchObject({
      ok: true,
      message: "db3 is out of maintenance",
    });
    expect(reply(d, "clear-maintenance", { server: "db3" })).toMatchObject({
      ok: true,
      message: "db3 was not in maintenance",
    });
  });

  it("status is a JSON summary of the state", () => {
    const { d } = started();
    const r = reply(d, "status");
    expect(r).toMatchObject({
      ok: true,
      data: {
        primary: "db1",
        writer: { server: "db1" },
        operation: null,
        failovers: { inWindow: 0, maxPerWindow: 3 },
        servers: [
          { name: "db1", role: "primary", situations: ["PrimaryHealthy"] },
          { name: "db2", role: "replica" },
          { name: "db3", role: "replica" },
        ],
      },
    });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("cancel of an unknown operation is NOT_APPLICABLE", () => {
    const { d } = started();
    expect(reply(d, "cancel", { opId: "op9" })).toMatchObject({
      ok: false,
      error: { code: "NOT_APPLICABLE", path: "opId" },
    });
  });

  describe("rebuild", () => {
    const broken = (
      config: ReturnType<typeof makeConfig>,
      o: ServerObservation,
    ): ServerObservation => ({
      ...o,
      replication: [
        conn(config, "db1", {
          gtidIoPos: "0-1-100",
          sqlThread: false,
          lastSqlErrno: 1062,
          lastSqlError: "dup",
        }),
      ],
    });

    it("refuses the primary and a replica that replicates fine", () => {
      const { d } = started();
      expect(reply(d, "rebuild", { target: "db1" })).toMatchObject({
        ok: false,
        error: { code: "REFUSED", path: "target" },
      });
      expect(reply(d, "rebuild", { target: "db2" })).toMatchObject({
        ok: false,
        error: { code: "REFUSED" },
      });
      expect(repliesIn(d.command("rebuild", { target: "db2" }))[0]).toMatchObject({
        error: { message: /replicates fine/ },
      });
    });

    it("refuses a source that is neither the primary nor a healthy replica", () => {
      const { d, config, healthy } = started();
      d.round({ db2: broken(config, healthy.db2!), db3: broken(config, healthy.db3!) });
      expect(reply(d, "rebuild", { target: "db3", source: "db2" })).toMatchObject({
        ok: false,
        error: { code: "REFUSED", path: "source" },
      });
      expect(reply(d, "rebuild", { target: "db3", source: "db3" })).toMatchObject({
        ok: false,
        error: { code: "REFUSED", path: "source" },
      });
    });

    it("chooses an up-to-date replica before the primary, and says honestly that it cannot run without agents", () => {
      const { d, config, healthy } = started();
      d.health("db3", broken(config, healthy.db3!));
      const r = reply(d, "rebuild", { target: "db3" });
      expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
      expect(!r?.ok && r?.error.message).toMatch(
        /no agentHost, so a rebuild is not available here .*would copy db2 to db3.*nothing was done/,
      );
      // With no healthy replica left, the primary is the source.
      d.health("db2", broken(config, healthy.db2!));
      const r2 = reply(d, "rebuild", { target: "db3" });
      expect(!r2?.ok && r2?.error.message).toMatch(/would copy db1 to db3/);
      expect(stepsIn(d.log)).toEqual([]);
    });
  });

  describe("rejoin", () => {
    it("refuses the primary, a fine replica, a server in maintenance, an unreachable one", () => {
      const { d } = started();
      expect(reply(d, "rejoin", { server: "db1" })).toMatchObject({
        ok: false,
        error: { code: "NOT_APPLICABLE" },
      });
      expect(reply(d, "rejoin", { server: "db2" })).toMatchObject({
        ok: false,
        error: { code: "NOT_APPLICABLE", message: /already replicates/ },
      });
      d.command("set-maintenance", { server: "db2" });
      expect(reply(d, "rejoin", { server: "db2" })).toMatchObject({
        ok: false,
        error: { code: "REFUSED" },
      });
      d.advance(10);
      d.health("db3", null);
      expect(reply(d, "rejoin", { server: "db3" })).toMatchObject({
        ok: false,
        error: { code: "SERVER_UNREACHABLE" },
      });
    });

    it("a standalone server behind the primary is attached; one with extra GTIDs is flagged diverged", () => {
      const { d, healthy } = started({ failover: { autoRejoin: false } });
      d.health("db3", { ...healthy.db3!, replication: [], gtidSlavePos: "" });
      const a = d.command("rejoin", { server: "db3" });
      expect(repliesIn(a)[0]).toMatchObject({ ok: true, opId: "op1" });
      const all = [
        ...a,
        ...execute(d, a, (req) =>
          okResult(
            req.stepId,
            req.step.kind === "inspect"
              ? req.server === "db3"
                ? { ...healthy.db3!, replication: [], gtidSlavePos: "" }
                : healthy.db1!
              : {},
          ),
        ),
      ];
      // A plain read-only replica: one fence step that leaves its readers connected.
      expect(stepsIn(all).map(summarize)).toEqual([
        "step db3 fence kill=none",
        "step db3 inspect",
        "step db1 inspect",
        "step db3 set-semi-sync",
        "step db3 stop-replication ''",
        "step db3 set-gtid-slave-pos 0-1-100",
        "step db3 change-master ''->db1",
        "step db3 start-replication ''",
        "step db3 verify-replicating ''",
      ]);
      expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });

      d.advance(10);
      d.health("db2", {
        ...healthy.db2!,
        replication: [],
        gtidCurrentPos: "0-2-7",
        gtidBinlogPos: "0-2-7",
      });
      const b = d.command("rejoin", { server: "db2" }, "r2");
      expect(repliesIn(b)[0]).toMatchObject({
        ok: false,
        error: { code: "NOT_APPLICABLE", message: /0-2-7 that the primary lacks/ },
      });
      expect(situationsIn(b)).toContain("ServerDiverged db2");
      expect(d.state.diverged.db2?.extraGtids).toBe("0-2-7");
    });
  });

  describe("cancel", () => {
    it("after promotion: no undo, remaining steps not sent, the new primary stays", () => {
      const { d, config, healthy } = started();
      const a = d.command("switchover", { target: "db2" });
      let cancelled: ReturnType<Driver["command"]> = [];
      const all = [
        ...a,
        ...execute(d, a, (req) => {
          if (req.step.kind === "inspect")
            return okResult(req.stepId, { ...healthy.db1!, readOnly: true });
          // Cancel as soon as the promotion was sent; its reply then arrives late.
          if (req.step.kind === "set-read-only" && !req.step.readOnly && req.server === "db2") {
            cancelled = d.command("cancel", { opId: "op1" }, "r2");
          }
          return okResult(req.stepId);
        }),
      ];
      void config;
      expect(repliesIn(cancelled)[0]).toMatchObject({ ok: true, message: /after promotion/ });
      expect(
        opEventsIn(cancelled).find((e) => e.opId === "op1" && e.state !== "running"),
      ).toMatchObject({
        state: "cancelled",
        error: { code: "CANCELLED" },
      });
      // db1 and db3 were left outside the new topology: rejoins follow (db1 first: its
      // read-pos inspection is already an observation taken after our last change to it).
      expect(opEventsIn(cancelled).at(-1)).toMatchObject({
        opId: "op2",
        kind: "rejoin",
        servers: { server: "db1", primary: "db2" },
      });
      const op1 = stepsIn(all).filter((s) => s.request.opId === "op1");
      expect(
        op1.filter(
          (s) =>
            s.request.server === "db1" &&
            s.request.step.kind === "set-read-only" &&
            !s.request.step.readOnly,
        ),
      ).toEqual([]);
      // Nothing of op1 was sent after the cancel (the repoint phase never started).
      expect(op1.some((s) => s.request.step.kind === "change-master")).toBe(false);
      expect(d.state.primary).toBe("db2");
      expect(d.state.operation?.kind).toBe("rejoin");
    });
  });

  it("a follower answers every command NOT_LEADER and changes nothing", () => {
    const { d } = started();
    d.leader = false;
    expect(reply(d, "set-maintenance", { server: "db2" })).toMatchObject({
      ok: false,
      error: { code: "NOT_LEADER", retryable: true },
    });
    expect(d.state.maintenance).toEqual({});
    void errResult;
  });
});
