// Which state format a decider writes, and which formats it may be told to use.
import { STATE_FORMAT } from "@marina/decider-core";
import { LEASE_FORMAT } from "@marina/lease-fence";
import { describe, expect, it } from "vitest";
import { FORMATS, formatsOf, stateWriteFormat } from "../src/formats.js";

describe("stateWriteFormat", () => {
  it.each([
    ["alone", { reads: 2, peers: [] }, 2],
    ["with peers of this release", { reads: 2, peers: [2, 2] }, 2],
    [
      "with a peer of the release before formats (its record says none: 1)",
      { reads: 2, peers: [2, 1] },
      1,
    ],
    ["with a newer peer", { reads: 2, peers: [3] }, 2],
    ["capped by the operator", { reads: 2, cap: 1, peers: [2] }, 1],
    ["a cap above what it reads", { reads: 1, cap: 2, peers: [] }, 1],
    ["before the peers are known", { reads: 2, peers: undefined }, 1],
    ["a peer that reads less than any format written", { reads: 2, peers: [0] }, 1],
  ])("%s", (_what, o, format) => {
    expect(stateWriteFormat(o)).toBe(format);
  });
});

describe("formatsOf", () => {
  it("is this release's formats, lowered where asked", () => {
    expect(FORMATS).toEqual({ state: STATE_FORMAT, lease: LEASE_FORMAT, presence: 2 });
    expect(formatsOf()).toEqual(FORMATS);
    expect(formatsOf({ state: 1, lease: 1 })).toEqual({ ...FORMATS, state: 1, lease: 1 });
  });

  it.each([[{ state: 0 }], [{ state: STATE_FORMAT + 1 }], [{ presence: 1.5 }]])(
    "refuses %j",
    (lower) => {
      expect(() => formatsOf(lower)).toThrow(RangeError);
    },
  );
});
