// The fault trials' fixed-seed subset (issue 13): every fault kind once, with durations
// inside the semi-sync timeout (10 s), on the multi-host lab. Nothing acknowledged lost,
// nothing unexpected, no two servers acknowledging at once, converged within the bound.
// The long randomized run is the benchmark: `pnpm trials --n 200`.
import { describe, expect, it } from "vitest";
import { type FaultKind, runTrial } from "../src/trials/trial.js";

const SUBSET: Array<[FaultKind, number]> = [
  ["kill9", 0],
  ["sigstop", 4_000],
  ["isolate", 6_000],
];

describe("fault trials, fixed seeds", () => {
  it.each(SUBSET)("%s (%i ms)", async (fault, faultMs) => {
    const r = await runTrial({ seed: 13_000 + faultMs, fault, faultMs, durability: "semisync" });
    const summary = JSON.stringify(r);
    expect(r.acked, summary).toBeGreaterThan(20);
    expect(r.lostIds, summary).toEqual([]);
    expect(r.unexpectedIds, summary).toEqual([]);
    expect(r.dualAckIds, summary).toEqual([]);
    expect(r.convergedMs, summary).not.toBeNull();
    expect(r.failover, summary).toBe(true);
    expect(r.falseFailover).toBe(false);
  });
});
