// Folding the stream into the page's state, and the operation panel built from it.
import { describe, expect, it } from "vitest";
import { fromRecord, operationView, STATUS_OVERRULES_MS } from "../src/web/model/operation.js";
import {
  applyHistory,
  applyPublished,
  applyRecentEvents,
  applyStatus,
  type DashboardState,
  FEED_MAX,
  initialState,
} from "../src/web/model/state.js";
import { opFrame, record, status, topology } from "./fixtures.js";

const T0 = Date.parse("2026-12-05T08:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function fold(frames: Parameters<typeof applyPublished>[1][], now = T0): DashboardState {
  return frames.reduce((s, p) => applyPublished(s, p, now), initialState);
}

describe("applyPublished", () => {
  it("follows an operation's phases in order, once each, and lists news only", () => {
    const s = fold([
      opFrame(at(0), { phase: "" }),
      opFrame(at(50), { phase: "inspect" }),
      opFrame(at(60), { phase: "inspect", message: "still inspecting" }),
      opFrame(at(100), { phase: "promote" }),
      opFrame(at(180), { phase: "repoint" }),
    ]);
    expect(s.operations["op-1"]!.phases.map((p) => p.name)).toEqual([
      "inspect",
      "promote",
      "repoint",
    ]);
    // The repeated inspect message is not news.
    expect(s.feed.map((f) => (f.kind === "operation" ? f.text : ""))).toEqual([
      "failover phase repoint: phase repoint",
      "failover phase promote: phase promote",
      "failover phase inspect: phase inspect",
      "failover started: phase ",
    ]);
  });

  it("keeps the newer topology of an epoch, and any topology of another epoch", () => {
    const t5 = topology(5, "db1", [["db1", "primary", []]]);
    const t4 = topology(4, "db2", [["db2", "primary", []]]);
    let s = applyPublished(initialState, { kind: "topology", time: at(0), payload: t5 }, T0);
    s = applyPublished(s, { kind: "topology", time: at(1), payload: t4 }, T0);
    expect(s.topology?.generation).toBe(5);
    const other = topology(1, "db3", [["db3", "primary", []]], 4);
    s = applyPublished(s, { kind: "topology", time: at(2), payload: other }, T0);
    expect(s.topology?.primary).toBe("db3");
  });

  it("keeps at most FEED_MAX feed items, newest first", () => {
    const frames = Array.from({ length: FEED_MAX + 5 }, (_, i) =>
      opFrame(at(i), { opId: `op-${i}`, phase: "inspect" }),
    );
    const s = fold(frames);
    expect(s.feed).toHaveLength(FEED_MAX);
    expect(s.feed[0]!.time).toBe(at(FEED_MAX + 4));
  });

  it("merges recent events under the streamed ones without repeating them", () => {
    const streamed = fold([opFrame(at(100), { phase: "promote" })]);
    const merged = applyRecentEvents(
      streamed,
      [opFrame(at(50), { phase: "inspect" }), opFrame(at(100), { phase: "promote" })],
      T0,
    );
    expect(merged.feed.map((f) => f.time)).toEqual([at(100), at(50)]);
  });
});

describe("operationView", () => {
  it("shows a running operation with its phases done, the current one, and their durations", () => {
    const s = fold([opFrame(at(0), { phase: "inspect" }), opFrame(at(250), { phase: "promote" })]);
    const v = operationView(s, T0 + 400)!;
    expect(v.title).toBe("failover db1 → db2");
    expect(v.state).toBe("running");
    expect(v.phases).toEqual([
      { name: "inspect", state: "done", duration: "250 ms" },
      { name: "promote", state: "current", duration: null },
    ]);
    expect(v.elapsed).toBe("running for 400 ms");
    expect(v.cancellable).toBe(true);
  });

  it("shows a rebuild's bytes, rate and ETA", () => {
    const s = fold([
      opFrame(at(0), {
        kind: "rebuild",
        servers: { target: "db3", source: "db2" },
        phase: "stream",
        progress: {
          bytes: 50 * 1024 * 1024,
          totalBytes: 200 * 1024 * 1024,
          bytesPerSecond: 25 * 1024 * 1024,
          etaMs: 6000,
        },
      }),
    ]);
    const v = operationView(s, T0 + 2000)!;
    expect(v.title).toBe("rebuild db3");
    expect(v.progress).toEqual({
      percent: 25,
      done: "50.0 MB of 200 MB",
      rate: "25.0 MB/s",
      eta: "6.0 s",
    });
  });

  it("once ended, takes the phases' durations from the history record", () => {
    let s = fold([
      opFrame(at(0), { phase: "inspect" }),
      opFrame(at(400), {
        phase: "repoint",
        state: "succeeded",
        endedAt: at(400),
        message: "db2 promoted",
      }),
    ]);
    s = applyHistory(s, [record()]);
    const v = operationView(s, T0 + 10_000)!;
    expect(v.state).toBe("succeeded");
    expect(v.elapsed).toBe("took 400 ms");
    expect(v.phases.map((p) => `${p.name}:${p.state}:${p.duration}`)).toEqual([
      "inspect:done:50 ms",
      "promote:done:40 ms",
      "repoint:done:80 ms",
    ]);
  });

  it("marks the last phase of a failed operation failed", () => {
    const v = fromRecord(
      record({
        outcome: "failed",
        error: { code: "TIMEOUT", message: "no reply", retryable: true },
      }),
    );
    expect(v.phases.at(-1)?.state).toBe("failed");
    expect(v.error).toBe("TIMEOUT: no reply");
  });

  it("drops a running operation a later status no longer has (its end was missed)", () => {
    const s = fold([opFrame(at(0), { phase: "inspect" })], T0);
    const early = applyStatus(s, status(), T0 + STATUS_OVERRULES_MS - 1);
    expect(operationView(early, T0 + 2000)?.state).toBe("running");
    const late = applyStatus(s, status(), T0 + STATUS_OVERRULES_MS + 1);
    // Not running any more: shown as the last one followed.
    expect(operationView(late, T0 + 2000)?.opId).toBe("op-1");
    expect(operationView(late, T0 + 2000)?.phases.at(-1)?.state).not.toBe("current");
  });

  it("shows an operation only the status knows of, else the newest record, else none", () => {
    const running = applyStatus(
      initialState,
      status({
        operation: {
          opId: "op-9",
          kind: "switchover",
          phase: "catch-up",
          status: "waiting for db2",
          startedAt: at(0),
          servers: { old: "db1", target: "db2" },
        },
      }),
      T0,
    );
    const v = operationView(running, T0 + 1500)!;
    expect(v.title).toBe("switchover db1 → db2");
    expect(v.phases).toEqual([{ name: "catch-up", state: "current", duration: null }]);
    expect(operationView(applyHistory(initialState, [record()]), T0)?.state).toBe("succeeded");
    expect(operationView(initialState, T0)).toBeNull();
  });
});
