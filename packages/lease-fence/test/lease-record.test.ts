import { describe, expect, it } from "vitest";
import { encodeLeaseRecord, parseLeaseRecord } from "../src/lease-record.js";
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

  it("reads back what encodeLeaseRecord writes", () => {
    const r = { holder: "decider-a", epoch: 7, renewedAt: at };
    expect(parseLeaseRecord(encodeLeaseRecord(r))).toEqual(r);
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
