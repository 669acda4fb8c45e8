import { describe, expect, it } from "vitest";
import { formatGtidList, gtidContains, mergeGtidLists, parseGtidList } from "../src/gtid.js";

describe("GTID lists", () => {
  it("parses multi-domain lists and keeps 64-bit sequence numbers exact", () => {
    const p = parseGtidList("0-1-5, 1-2-18446744073709551615");
    expect(p.get(0)).toEqual({ domain: 0, serverId: 1, seq: 5n });
    expect(p.get(1)?.seq).toBe(18446744073709551615n);
    expect(parseGtidList("").size).toBe(0);
    expect(formatGtidList(p)).toBe("0-1-5,1-2-18446744073709551615");
  });

  it.each([["0-1"], ["a-1-2"], ["0-1-2,0-2-3"], ["0-1--2"]])("rejects %j", (bad) => {
    expect(() => parseGtidList(bad)).toThrow(/GTID|domain/);
  });

  it.each([
    ["0-1-5", "0-1-5", true],
    ["0-1-6", "0-1-5", true],
    ["0-2-6", "0-1-5", true], // seq decides, not the server that wrote it
    ["0-1-4", "0-1-5", false],
    ["1-1-9", "0-1-5", false],
    ["1-1-3,2-2-4", "1-1-3,2-2-4", true],
    ["1-1-3", "1-1-3,2-2-4", false],
    ["0-1-10", "0-1-9", true], // numeric, not lexical
    ["", "", true],
    ["0-1-1", "", true],
  ] as const)("contains(%j, %j) = %s", (have, want, expected) => {
    expect(gtidContains(have, want)).toBe(expected);
  });

  it("merges per domain by maximum sequence", () => {
    expect(formatGtidList(mergeGtidLists("1-1-3", "1-1-7,2-2-1", "0-3-2"))).toBe(
      "0-3-2,1-1-7,2-2-1",
    );
  });
});
