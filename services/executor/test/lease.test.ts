import { describe, expect, it } from "vitest";
import { parseLeaseEpoch } from "../src/lease.js";

describe("parseLeaseEpoch", () => {
  it.each([
    ['{"epoch":4,"holder":"d1","expiresAt":"x"}', 4],
    ['{"epoch":0}', 0],
    ['{"epoch":-1}', undefined],
    ['{"epoch":1.5}', undefined],
    ['{"holder":"d1"}', undefined],
    ["not json", undefined],
    ["[]", undefined],
  ])("%s → %s", (text, epoch) => {
    expect(parseLeaseEpoch(text)).toBe(epoch);
    expect(parseLeaseEpoch(new TextEncoder().encode(text))).toBe(epoch);
  });
});
