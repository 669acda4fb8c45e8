// The events list, the writer's counts and the number formats.

import { situationList } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { feedRows, SITUATION_SEVERITY, severityOf } from "../src/web/model/feed.js";
import {
  formatAge,
  formatBytes,
  formatClock,
  formatDuration,
  formatRate,
} from "../src/web/model/format.js";
import { parseWriterStats, writerView } from "../src/web/model/writer.js";

describe("feed", () => {
  it("gives every situation a severity, the dangerous ones critical", () => {
    expect(severityOf("PrimaryDead")).toBe("critical");
    expect(severityOf("ServerDiverged")).toBe("critical");
    expect(severityOf("ReplicaLagging")).toBe("warning");
    expect(severityOf("PrimaryHealthy")).toBe("info");
    expect(severityOf("SomethingNew")).toBe("warning");
    expect(Object.keys(SITUATION_SEVERITY).sort()).toEqual([...situationList].sort());
  });

  it("shows events and operation news, a failed operation as critical", () => {
    const rows = feedRows([
      { kind: "operation", time: "t2", opId: "op-1", text: "failover failed: x", state: "failed" },
      {
        kind: "event",
        time: "t1",
        event: {
          cluster: "main",
          situation: "PrimaryDead",
          actionable: true,
          server: "db1",
          reason: "unreachable by every monitor",
          epoch: 1,
          extraGtids: null,
          details: {},
        },
      },
    ]);
    expect(rows.map((r) => [r.severity, r.title, r.server, r.text])).toEqual([
      ["critical", "operation", null, "failover failed: x"],
      ["critical", "PrimaryDead", "db1", "unreachable by every monitor"],
    ]);
  });
});

describe("writer", () => {
  const stats = {
    target: "db2",
    acknowledged: 12345,
    refused: 3,
    inDoubt: 1,
    lost: 0,
    checkedAt: "2026-12-05T08:00:00.000Z",
    perSecond: 19.6,
    lastError: null,
  };

  it("reads the writer's stats, and nothing else", () => {
    expect(parseWriterStats(stats)).toEqual(stats);
    expect(parseWriterStats({ ...stats, lost: "0" })).toBeNull();
    expect(parseWriterStats("<html>")).toBeNull();
    expect(parseWriterStats(null)).toBeNull();
  });

  it("shows the counts, lost in red only when some were lost", () => {
    const now = Date.parse("2026-12-05T08:00:03.000Z");
    expect(writerView(stats, now)).toMatchObject({
      target: "db2",
      acknowledged: "12,345",
      lost: "0",
      lostTone: "ok",
      rate: "20/s",
      checked: "3.0 s ago",
    });
    expect(writerView({ ...stats, lost: 2 }, now).lostTone).toBe("danger");
    expect(writerView({ ...stats, checkedAt: null }, now)).toMatchObject({
      lost: "not checked yet",
      lostTone: "unknown",
    });
  });
});

describe("format", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KB"],
    [250 * 1024 * 1024, "250 MB"],
    [3.5 * 1024 ** 3, "3.5 GB"],
  ])("formatBytes(%d) = %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([
    [12, "12 ms"],
    [1500, "1.5 s"],
    [42_000, "42 s"],
    [125_000, "2 min 5 s"],
    [3_720_000, "1 h 2 min"],
  ])("formatDuration(%d) = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("formats rates, ages and clock times", () => {
    expect(formatRate(2 * 1024 * 1024)).toBe("2.0 MB/s");
    const t = "2026-12-05T08:00:00.000Z";
    expect(formatAge(t, Date.parse(t) + 200)).toBe("just now");
    expect(formatAge(t, Date.parse(t) + 65_000)).toBe("1 min 5 s ago");
    expect(formatAge("nonsense", 0)).toBe("?");
    expect(formatClock(t)).toMatch(/^\d\d:\d\d:\d\d$/);
  });
});
