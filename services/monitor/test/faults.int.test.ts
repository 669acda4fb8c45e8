// Faults on the primary, seen by a monitor probing every 5 s: a kill -9 must be reported
// from the connection's error event (long before the next scheduled probe), a SIGSTOP only
// once queryTimeoutMs passed, and a restarted server is seen again.
import { type Lab, startLab } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MonitorHandle, startMonitor } from "../src/index.js";
import { labConfig, Recorder, testLogger } from "./int-helpers.js";

const INTERVAL_MS = 5000;
const QUERY_TIMEOUT_MS = 1000;

describe("faults on the primary", () => {
  let lab: Lab;
  let mon: MonitorHandle;
  let rec: Recorder;

  beforeAll(async () => {
    lab = await startLab({ shape: "primary-replicas", nodes: 3 });
    rec = await Recorder.start(lab.nats!.url);
    mon = await startMonitor({
      config: labConfig(lab, {
        intervalMs: INTERVAL_MS,
        queryTimeoutMs: QUERY_TIMEOUT_MS,
        backoffMinMs: 100,
        backoffMaxMs: 1000,
      }),
      monitorId: "m-faults",
      log: testLogger(),
      http: false,
    });
    await mon.ready;
    for (const n of ["db1", "db2", "db3"]) await rec.waitHealth(n, (s) => s.reachable);
  });

  afterAll(async () => {
    await mon?.close();
    await rec?.close();
    await lab?.close();
  });

  it("reports a killed primary at once, not at the next scheduled probe", async () => {
    // Right after a scheduled probe of db1, the next one is INTERVAL_MS away.
    const before = rec.of("db1").length;
    const scheduled = await rec.waitHealth("db1", (s) => s.reachable, {
      after: rec.of("db1").at(-1)!.at,
      timeoutMs: INTERVAL_MS * 3,
      message: "a scheduled probe of db1",
    });
    expect(rec.of("db1").length).toBeGreaterThan(before);
    const replicaProbes = rec.of("db2").length;
    const killedAt = performance.now();
    await lab.primary.kill9();
    const lost = await rec.waitHealth("db1", (s) => !s.reachable, {
      after: scheduled.at,
      timeoutMs: INTERVAL_MS * 3,
    });
    expect(lost.payload.error?.kind).toBe("dropped");
    expect(lost.payload.consecutiveFailures).toBe(1);
    // Before the next scheduled probe would have run: it came from the drop itself.
    expect(lost.at - scheduled.at).toBeLessThan(INTERVAL_MS);
    expect(lost.at - killedAt).toBeLessThan(2000);
    // The other servers were probed again at once for fresh replica evidence.
    await rec.waitHealth("db2", () => true, { after: lost.at, timeoutMs: 3000 });
    expect(rec.of("db2").length).toBeGreaterThan(replicaProbes);
    const t = await rec.waitObserved((t) => t.unreachable.includes("db1"));
    expect(t.primaries).toEqual([]);
    // The replicas' side of the evidence: the link reconnects and stays quiet.
    const quiet = await rec.waitHealth(
      "db2",
      (s) => (s.observation?.replication[0]?.quietMs ?? 0) >= INTERVAL_MS / 2,
      { after: lost.at, timeoutMs: INTERVAL_MS * 3, message: "db2's link to db1 going quiet" },
    );
    expect(quiet.payload.observation!.replication[0]!.ioThread).toBe("Connecting");
    expect(quiet.payload.observation!.replication[0]!.lastIoErrno).toBe(2003);
  });

  it("sees the restarted primary again", async () => {
    const since = performance.now();
    await lab.primary.start();
    const back = await rec.waitHealth("db1", (s) => s.reachable, {
      after: since,
      timeoutMs: INTERVAL_MS * 4,
    });
    expect(back.payload.consecutiveFailures).toBe(0);
    // read_only=ON in the lab's my.cnf (the recommended setting): it returns read-only.
    expect(back.payload.observation?.readOnly).toBe(true);
    await rec.waitObserved((t) => t.primaries.includes("db1") && t.unreachable.length === 0);
  });

  it("reports a SIGSTOPped primary only after queryTimeoutMs, and sees it after SIGCONT", async () => {
    await rec.waitHealth("db1", (s) => s.reachable, { after: rec.of("db1").at(-1)!.at - 1 });
    const stoppedAt = performance.now();
    lab.primary.sigstop();
    try {
      const lost = await rec.waitHealth("db1", (s) => !s.reachable, {
        after: stoppedAt,
        timeoutMs: INTERVAL_MS * 4,
      });
      expect(lost.payload.error?.kind).toBe("timeout");
      // The open connection waited for the configured timeout before giving up.
      expect(lost.at - stoppedAt).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS);
    } finally {
      lab.primary.sigcont();
    }
    const contAt = performance.now();
    await rec.waitHealth("db1", (s) => s.reachable, { after: contAt, timeoutMs: INTERVAL_MS * 4 });
  });
});
