import { describe, expect, it } from "vitest";
import { type ConstraintInput, checkFailoverConstraints } from "../src/policies/constraints.js";
import { makeConfig, obs, T0 } from "./helpers.js";

const semi = (masterStatus: boolean) =>
  obs({
    readOnly: false,
    semiSync: {
      masterEnabled: true,
      masterStatus,
      masterClients: masterStatus ? 1 : 0,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10_000,
    },
  });

const input = (
  over: Partial<ConstraintInput> = {},
  failover: Record<string, unknown> = {},
): ConstraintInput => ({
  config: makeConfig({
    failover: { cooldownMs: 60_000, windowMs: 3_600_000, maxPerWindow: 3, ...failover },
  }),
  now: T0,
  failovers: [],
  primary: "db1",
  primaryInMaintenance: false,
  primaryLastObservation: semi(true),
  ...over,
});

describe("checkFailoverConstraints (rule 5)", () => {
  const cases: [string, ConstraintInput, string | null, RegExp?][] = [
    ["nothing blocks a first failover", input(), null],
    [
      "cooldown after a failover",
      input({ failovers: [T0 - 10_000] }),
      "cooldown",
      /10000 ms ago, cooldown is 60000 ms/,
    ],
    ["cooldown over", input({ failovers: [T0 - 60_000] }), null],
    [
      "window limit",
      input({ failovers: [T0 - 3_000_000, T0 - 2_000_000, T0 - 1_000_000] }),
      "window",
      /3 failovers in the last 3600000 ms, limit is 3/,
    ],
    ["window slides", input({ failovers: [T0 - 3_600_000, T0 - 2_000_000, T0 - 1_000_000] }), null],
    ["requireSemiSync, was in sync", input({}, { requireSemiSync: true }), null],
    [
      "requireSemiSync, not in sync",
      input({ primaryLastObservation: semi(false) }, { requireSemiSync: true }),
      "semi-sync",
      /not in sync/,
    ],
    [
      "requireSemiSync, never seen",
      input({ primaryLastObservation: null }, { requireSemiSync: true }),
      "semi-sync",
      /never seen/,
    ],
    ["semi-sync not required", input({ primaryLastObservation: semi(false) }), null],
    [
      "primary in maintenance",
      input({ primaryInMaintenance: true }),
      "maintenance",
      /db1 is in maintenance/,
    ],
    [
      "automatic failover disabled",
      input({}, { auto: false }),
      "disabled",
      /failover.auto is false/,
    ],
  ];
  it.each(cases)("%s", (_name, i, code, why) => {
    const b = checkFailoverConstraints(i);
    expect(b?.code ?? null).toBe(code);
    if (why) expect(b?.reason).toMatch(why);
  });

  it("maps refusals to stable error codes", () => {
    expect(checkFailoverConstraints(input({ failovers: [T0 - 1] }))?.errorCode).toBe("COOLDOWN");
    expect(
      checkFailoverConstraints(
        input({ failovers: [T0 - 3_000_000, T0 - 2_000_000, T0 - 1_000_000] }),
      )?.errorCode,
    ).toBe("FAILOVER_LIMIT");
  });
});

describe("a veto hold from a persisted state", () => {
  it.each([1e300, Number.MAX_SAFE_INTEGER])("an `until` of %d blocks without throwing", (until) => {
    const hold = { primary: "db1", until, opId: "op1", reason: "vetoed", details: {} };
    const b = checkFailoverConstraints(input({ vetoHold: hold }));
    expect(b).toMatchObject({ code: "veto", errorCode: "VETOED" });
    expect(b?.reason).toMatch(/held until .* ms since the epoch/);
  });
});
