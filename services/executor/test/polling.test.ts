import { describe, expect, it } from "vitest";
import type { Row } from "../src/rows.js";
import type { StepContext } from "../src/steps/context.js";
import { verifyReplicating } from "../src/steps/verify-replicating.js";
import { pollIntervalMs, waitBinlogStable } from "../src/steps/wait-binlog-stable.js";
import { resolveClusters } from "../src/targets.js";
import { ScriptedSession } from "./fake-session.js";
import { CONFIG, ENV, FakeClock, silentLog } from "./fixtures.js";

const cluster = resolveClusters(CONFIG, ENV).get("main")!;

function ctx(answer: (sql: string) => Row[], clock = new FakeClock()): StepContext {
  return {
    db: new ScriptedSession(answer),
    openSession: async () => new ScriptedSession(answer),
    cluster,
    server: cluster.servers.get("db2")!,
    source: undefined,
    clock,
    log: silentLog,
    opId: "op-1",
    executor: "e1",
  };
}

describe("wait-binlog-stable", () => {
  it("returns once the position held still for stableMs", async () => {
    const clock = new FakeClock();
    const start = clock.t;
    const positions = ["0-1-1", "0-1-2", "0-1-3"];
    let i = 0;
    const c = ctx(
      () => [{ gtid_binlog_pos: positions[Math.min(i++, positions.length - 1)] }],
      clock,
    );
    const r = await waitBinlogStable(c, {
      kind: "wait-binlog-stable",
      stableMs: 500,
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ gtidBinlogPos: "0-1-3", changes: 2 });
    expect(r.stableForMs).toBeGreaterThanOrEqual(500);
    expect(clock.t - start).toBeLessThan(10_000);
  });

  it("fails with TIMEOUT while the position keeps moving", async () => {
    let n = 0;
    const c = ctx(() => [{ gtid_binlog_pos: `0-1-${++n}` }]);
    await expect(
      waitBinlogStable(c, { kind: "wait-binlog-stable", stableMs: 1000, timeoutMs: 3000 }),
    ).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("stableMs 0 returns at once", async () => {
    const c = ctx(() => [{ gtid_binlog_pos: "0-1-1" }]);
    const r = await waitBinlogStable(c, { kind: "wait-binlog-stable", stableMs: 0, timeoutMs: 1 });
    expect(r.gtidBinlogPos).toBe("0-1-1");
  });

  it.each([
    [0, 20],
    [500, 100],
    [5000, 200],
  ])("polls stableMs %i every %i ms", (stable, every) => {
    expect(pollIntervalMs(stable)).toBe(every);
  });
});

const slave = (over: Row): Row => ({
  Connection_name: "",
  Master_Host: "127.0.0.1",
  Master_Port: 3311,
  Slave_IO_Running: "Yes",
  Slave_SQL_Running: "Yes",
  Last_IO_Errno: 0,
  Last_IO_Error: "",
  Last_SQL_Errno: 0,
  Last_SQL_Error: "",
  Gtid_IO_Pos: "0-1-1",
  ...over,
});

describe("verify-replicating", () => {
  it("waits through Connecting until both threads run", async () => {
    const states = ["Connecting", "Connecting", "Yes"];
    let i = 0;
    const c = ctx(() => [slave({ Slave_IO_Running: states[Math.min(i++, 2)] })]);
    const r = await verifyReplicating(c, {
      kind: "verify-replicating",
      connection: "",
      timeoutMs: 5000,
    });
    expect(r.connection).toMatchObject({ ioThread: "Yes", sqlThread: true });
  });

  it("times out with the last IO error in the message", async () => {
    const c = ctx(() => [
      slave({
        Slave_IO_Running: "Connecting",
        Last_IO_Errno: 2003,
        Last_IO_Error: "can't connect",
      }),
    ]);
    await expect(
      verifyReplicating(c, { kind: "verify-replicating", connection: "", timeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: "TIMEOUT",
      message: expect.stringContaining("IO error 2003: can't connect"),
    });
  });

  it("fails at once when the SQL thread stopped with an error", async () => {
    const clock = new FakeClock();
    const start = clock.t;
    const c = ctx(
      () => [
        slave({ Slave_SQL_Running: "No", Last_SQL_Errno: 1062, Last_SQL_Error: "Duplicate entry" }),
      ],
      clock,
    );
    await expect(
      verifyReplicating(c, { kind: "verify-replicating", connection: "", timeoutMs: 60_000 }),
    ).rejects.toMatchObject({ code: "SQL_ERROR", message: expect.stringContaining("1062") });
    expect(clock.t).toBe(start);
  });

  it("refuses a connection that does not exist", async () => {
    const c = ctx(() => []);
    await expect(
      verifyReplicating(c, { kind: "verify-replicating", connection: "x", timeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: "NOT_APPLICABLE" });
  });
});
