import { describe, expect, it } from "vitest";
import {
  encodeLeaseRecord,
  LEASE_FORMAT,
  leaseFormatOf,
  migrateLease,
  parseLeaseRecord,
} from "../src/lease-record.js";
import { StaticLeaseSource } from "../src/lease-source.js";

const at = "2025-01-02T03:04:05.678Z";

describe("parseLeaseRecord", () => {
  it.each([
    [`{"epoch":4,"holder":"d1","renewedAt":"${at}"}`, 4],
    [`{"epoch":0,"holder":"d1","renewedAt":"${at}","extra":1}`, 0],
    [`{"epoch":-1,"holder":"d1","renewedAt":"${at}"}`, undefined],
    [`{"epoch":1.5,"holder":"d1","renewedAt":"${at}"}`, undefined],
    [`{"epoch":4,"holder":"d1"}`, undefined],
    [`{"epoch":4,"holder":"d1","renewedAt":"yesterday"}`, undefined],
    [`{"epoch":4,"renewedAt":"${at}"}`, undefined],
    ["{}", undefined],
    ["not json", undefined],
    ["[]", undefined],
  ])("%s → epoch %s", (text, epoch) => {
    expect(parseLeaseRecord(text)?.epoch).toBe(epoch);
    expect(parseLeaseRecord(new TextEncoder().encode(text))?.epoch).toBe(epoch);
  });

  it("reads back what encodeLeaseRecord writes, in the current format", () => {
    const r = { holder: "decider-a", epoch: 7, renewedAt: at };
    expect(parseLeaseRecord(encodeLeaseRecord(r))).toEqual({ version: LEASE_FORMAT, ...r });
  });
});

describe("lease formats", () => {
  // Format 1 as a decider wrote it before formats were versioned (recorded from the lab:
  // services/decider/test/fixtures/format-1/lease.json).
  const v1 = `{"holder":"decider-1","epoch":1,"renewedAt":"2026-12-05T01:42:11.630Z"}`;
  const fields = { holder: "decider-1", epoch: 1, renewedAt: "2026-12-05T01:42:11.630Z" };

  it.each([
    ["format 1 (no version)", v1, 1, 1],
    ["format 2", `{"version":2,"holder":"d","epoch":3,"renewedAt":"${at}"}`, 2, 3],
    // a newer release's lease: fenced on the same fields, whatever else it adds
    ["a newer format", `{"version":9,"holder":"d","epoch":5,"renewedAt":"${at}","x":{}}`, 9, 5],
  ])("accepts %s for fencing", (_what, text, format, epoch) => {
    const r = parseLeaseRecord(text);
    expect(r && leaseFormatOf(r)).toBe(format);
    expect(r?.epoch).toBe(epoch);
  });

  it.each([
    [
      "a version that is not a positive integer",
      `{"version":"2","holder":"d","epoch":1,"renewedAt":"${at}"}`,
    ],
    ["version 0", `{"version":0,"holder":"d","epoch":1,"renewedAt":"${at}"}`],
  ])("refuses %s", (_what, text) => {
    expect(parseLeaseRecord(text)).toBeUndefined();
  });

  it.each([
    ["1 → 2", { ...fields }, { version: 2, ...fields }],
    ["2 stays", { version: 2, ...fields }, { version: 2, ...fields }],
    [
      "a newer one stays as it is",
      { version: 3, ...fields, more: 1 },
      { version: 3, ...fields, more: 1 },
    ],
  ])("migrates %s", (_what, from, to) => {
    expect(migrateLease(from)).toEqual(to);
  });

  it("writes format 1 without a version, as older releases read it", () => {
    expect(new TextDecoder().decode(encodeLeaseRecord(fields, 1))).toBe(v1);
    expect(parseLeaseRecord(encodeLeaseRecord(fields, 1))).toEqual(fields);
  });
});

describe("StaticLeaseSource", () => {
  it("holds fixed leases that never expire, moved by set", async () => {
    const s = new StaticLeaseSource({ main: 2 });
    expect(s.cached("main")).toEqual({ epoch: 2, expiresAt: null });
    expect(await s.read("other")).toBeNull();
    s.set("main", 3);
    expect(await s.read("main")).toEqual({ epoch: 3, expiresAt: null });
    s.set("main", null);
    expect(s.cached("main")).toBeNull();
  });
});
