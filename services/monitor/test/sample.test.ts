import { check, HealthSample } from "@marina/contracts";
import { backoffDelay } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { initialCounters, nextSample, type ProbeOutcome } from "../src/sample.js";
import { observationOf, recorded } from "./fixtures.js";

const id = { cluster: "main", server: "db1", monitor: "m1", host: "127.0.0.1", port: 3306 };
const refused: ProbeOutcome = {
  ok: false,
  error: { code: "ECONNREFUSED", message: "refused", kind: "refused" },
};
const ok: ProbeOutcome = {
  ok: true,
  latencyMs: 1.23456,
  observation: observationOf(recorded("semi-sync-broken"), "db1"),
};

describe("nextSample", () => {
  it("counts probes, consecutive failures and time since the last success", () => {
    let c = initialCounters;
    const first = nextSample(id, c, refused, 100);
    expect(first.sample).toMatchObject({
      probe: 1,
      reachable: false,
      consecutiveFailures: 1,
      sinceLastSuccessMs: null,
    });
    c = first.counters;
    const up = nextSample(id, c, ok, 600);
    expect(up.sample).toMatchObject({
      probe: 2,
      reachable: true,
      consecutiveFailures: 0,
      sinceLastSuccessMs: 0,
      latencyMs: 1.235,
      error: null,
    });
    c = up.counters;
    const down1 = nextSample(id, c, refused, 1100);
    const down2 = nextSample(id, down1.counters, refused, 1700);
    expect(down2.sample).toMatchObject({
      probe: 4,
      consecutiveFailures: 2,
      sinceLastSuccessMs: 1100,
      observation: null,
      latencyMs: null,
    });
    for (const s of [first, up, down1, down2]) expect(check(HealthSample, s.sample).ok).toBe(true);
  });
});

describe("backoffDelay", () => {
  it("doubles from min and stops at max", () => {
    const s = { backoffMinMs: 100, backoffMaxMs: 2000 };
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(s, n))).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000, 2000,
    ]);
  });

  it("treats a max below min as min", () => {
    expect(backoffDelay({ backoffMinMs: 500, backoffMaxMs: 100 }, 3)).toBe(500);
  });
});
