import { parseGtidList } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { checkRejoin, historyOf } from "../src/plans/rejoin.js";

const primary = (binlogState: string, current = "", slave = "") =>
  historyOf({
    gtidBinlogState: binlogState,
    gtidBinlogPos: "",
    gtidCurrentPos: current,
    gtidSlavePos: slave,
  });

describe("checkRejoin (rule 4)", () => {
  const cases: [
    string,
    { gtidBinlogPos: string; gtidCurrentPos: string },
    ReturnType<typeof primary>,
    { ok: boolean; pos?: string; extra?: string; diverged?: boolean },
  ][] = [
    [
      "old primary behind the new one: contained",
      { gtidBinlogPos: "0-1-100", gtidCurrentPos: "0-1-100" },
      primary("0-1-100,0-2-105", "0-2-105"),
      { ok: true, pos: "0-1-100" },
    ],
    [
      "0-1-101 vs 0-2-105: a transaction the new primary never had (crash-recovered) → diverged",
      { gtidBinlogPos: "0-1-101", gtidCurrentPos: "0-1-101" },
      primary("0-1-100,0-2-105", "0-2-105"),
      { ok: false, diverged: true, extra: "0-1-101" },
    ],
    [
      "same position: contained",
      { gtidBinlogPos: "0-1-100", gtidCurrentPos: "0-1-100" },
      primary("0-1-100"),
      { ok: true, pos: "0-1-100" },
    ],
    [
      "history known from gtid_slave_pos only (new primary without log_slave_updates)",
      { gtidBinlogPos: "0-1-100", gtidCurrentPos: "0-1-100" },
      primary("0-2-3", "0-2-3", "0-1-100"),
      { ok: true, pos: "0-1-100" },
    ],
    [
      "multi-domain: one domain ahead is enough to diverge",
      { gtidBinlogPos: "0-1-100,1-1-7", gtidCurrentPos: "0-1-100,1-1-7" },
      primary("0-1-100,0-2-110,1-1-5", "0-2-110,1-1-5"),
      { ok: false, diverged: true, extra: "1-1-7" },
    ],
    [
      "binlog and current positions are merged (a replica without log_bin)",
      { gtidBinlogPos: "", gtidCurrentPos: "0-1-90" },
      primary("0-1-100"),
      { ok: true, pos: "0-1-90" },
    ],
    [
      "no position at all: not diverged, but not rejoined blindly either",
      { gtidBinlogPos: "", gtidCurrentPos: "" },
      primary("0-1-100"),
      { ok: false, diverged: false },
    ],
  ];
  it.each(cases)("%s", (_name, server, history, want) => {
    const r = checkRejoin(server, history);
    expect(r.ok).toBe(want.ok);
    if (r.ok) expect(r.pos).toBe(want.pos);
    else {
      expect(r.diverged).toBe(want.diverged);
      if (want.extra !== undefined) expect(r.extra).toBe(want.extra);
    }
  });

  it("historyOf unions every variable", () => {
    expect(
      historyOf({
        gtidBinlogState: "0-1-5",
        gtidBinlogPos: "0-2-9",
        gtidCurrentPos: "1-3-4",
        gtidSlavePos: "",
      }),
    ).toEqual(parseGtidList("0-1-5,0-2-9,1-3-4"));
  });
});
