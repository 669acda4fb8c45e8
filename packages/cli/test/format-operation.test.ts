import { describe, expect, it } from "vitest";
import {
  formatOperationStart,
  formatOutcome,
  formatPhaseLine,
  formatProgress,
  formatTimings,
  isNews,
} from "../src/format/operation.js";
import { barFrame } from "../src/format/progress-bar.js";
import { PLAIN } from "../src/format/style.js";
import { formatBytes, formatDuration } from "../src/format/units.js";
import { opEvent } from "./fixtures.js";

const at = (ms: number) => new Date(Date.parse("2026-11-20T12:00:00.000Z") + ms);

describe("an operation's phases", () => {
  it("prints a header and one line per phase with the time since the start", () => {
    expect(formatOperationStart(opEvent(), PLAIN)).toBe("switchover op-1  old=db1 target=db2");
    expect(
      formatPhaseLine(opEvent({ phase: "demote", message: "demoting db1" }), at(150), PLAIN),
    ).toBe("  +   0.150 s  demote       demoting db1");
    expect(formatPhaseLine(opEvent({ phase: "stream" }), at(83_250), PLAIN)).toMatch(
      /^ {2}\+ {2}83\.250 s {2}stream/,
    );
  });

  const progress = { bytes: 1, totalBytes: 2, bytesPerSecond: 1, etaMs: 1 };
  it.each([
    { what: "the first message", prev: undefined, ev: opEvent(), news: true },
    { what: "another phase", prev: opEvent(), ev: opEvent({ phase: "demote" }), news: true },
    {
      what: "the same phase with another message",
      prev: opEvent({ phase: "demote" }),
      ev: opEvent({ phase: "demote", message: "x" }),
      news: true,
    },
    {
      what: "a repeat",
      prev: opEvent({ phase: "demote" }),
      ev: opEvent({ phase: "demote" }),
      news: false,
    },
    {
      what: "progress of the same phase",
      prev: opEvent({ phase: "stream" }),
      ev: opEvent({ phase: "stream", message: "1 MB", progress }),
      news: false,
    },
    {
      what: "the outcome",
      prev: opEvent({ phase: "repoint" }),
      ev: opEvent({ phase: "repoint", state: "succeeded" }),
      news: true,
    },
  ])("$what is news: $news", ({ prev, ev, news }) => {
    expect(isNews(ev, prev)).toBe(news);
  });

  it("ends with the outcome and each phase's duration", () => {
    const done = opEvent({
      state: "succeeded",
      phase: "semi-sync",
      message: "db2 is the primary; db1 replicates from it",
      endedAt: "2026-11-20T12:00:00.176Z",
      timings: { demote: 40, "read-pos": 12, total: 176, promote: 30 },
    });
    expect(formatOutcome(done, PLAIN)).toEqual([
      "switchover op-1 succeeded in 176 ms: db2 is the primary; db1 replicates from it",
      "  phases: demote 40 ms · read-pos 12 ms · promote 30 ms · total 176 ms",
    ]);
    const failed = opEvent({
      state: "failed",
      message: "switchover failed before any change: no",
      endedAt: "2026-11-20T12:00:03.000Z",
      error: { code: "TIMEOUT", message: "no", retryable: true, path: "target" },
    });
    expect(formatOutcome(failed, PLAIN)).toEqual([
      "switchover op-1 failed in 3.0 s: switchover failed before any change: no [TIMEOUT at target]",
    ]);
    expect(
      formatOutcome(opEvent({ state: "cancelled", message: "cancelled", endedAt: null }), PLAIN)[0],
    ).toBe("switchover op-1 cancelled: cancelled");
    expect(formatTimings({})).toBe("");
  });

  it("shows a transfer's bytes, rate and ETA, with a bar when the size is known", () => {
    const p = {
      bytes: 412 * 2 ** 20,
      totalBytes: 1126 * 2 ** 20,
      bytesPerSecond: 503 * 2 ** 20,
      etaMs: 1400,
    };
    expect(formatProgress(p)).toBe("412.0 MiB of ~1.10 GiB (36%) at 503.0 MiB/s, ETA 1.4 s");
    expect(barFrame(p, false)).toBe(`  [${"=".repeat(11)}${"-".repeat(19)}]  ${formatProgress(p)}`);
    const unknown = { bytes: 2048, totalBytes: null, bytesPerSecond: 1024, etaMs: null };
    expect(barFrame(unknown, true)).toBe("  2.00 KiB at 1.00 KiB/s");
    const over = { bytes: 3000, totalBytes: 1000, bytesPerSecond: 0, etaMs: 0 };
    expect(barFrame(over, false)).toContain(`[${"=".repeat(30)}]`);
    expect(formatProgress(over)).toContain("(100%)");
  });

  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.50 KiB"],
    [50 * 2 ** 30, "50.0 GiB"],
  ])("formatBytes(%d) = %s", (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [850, "850 ms"],
    [3200, "3.2 s"],
    [245_000, "4 min 05 s"],
    [7_380_000, "2 h 03 min"],
  ])("formatDuration(%d) = %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});
