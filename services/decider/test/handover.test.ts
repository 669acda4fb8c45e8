// When a leader that is not a cluster's preferred owner gives its lease up (pure rules).
import { describe, expect, it } from "vitest";
import {
  type HandoverFacts,
  type HandoverPolicy,
  handoverBackoffMs,
  handoverVerdict,
} from "../src/handover.js";

const policy: HandoverPolicy = { stableMs: 30_000, backoffMs: 30_000, maxBackoffMs: 600_000 };
const due: HandoverFacts = {
  leading: true,
  self: "d1",
  preferred: "d2",
  preferredAliveMs: 31_000,
  quiet: true,
  sinceLastHandoverMs: undefined,
  failedHandovers: 0,
};

describe("handoverVerdict", () => {
  it.each<[string, Partial<HandoverFacts>, ReturnType<typeof handoverVerdict>]>([
    ["due: hands over to the preferred decider", {}, { handOver: true, to: "d2" }],
    ["not leading", { leading: false }, { handOver: false, why: "not-leader" }],
    [
      "this decider is the preferred one",
      { preferred: "d1" },
      { handOver: false, why: "preferred" },
    ],
    [
      "no live decider configures it",
      { preferred: undefined },
      { handOver: false, why: "no-owner" },
    ],
    [
      "preferred one alive too briefly",
      { preferredAliveMs: 29_999 },
      { handOver: false, why: "not-stable" },
    ],
    ["preferred one not alive", { preferredAliveMs: 0 }, { handOver: false, why: "not-stable" }],
    [
      "an operation runs (or the primary is down)",
      { quiet: false },
      { handOver: false, why: "busy" },
    ],
    ["handed over 10 s ago", { sinceLastHandoverMs: 10_000 }, { handOver: false, why: "backoff" }],
    ["handed over 30 s ago", { sinceLastHandoverMs: 30_000 }, { handOver: true, to: "d2" }],
    [
      "one failed handover doubles the pause",
      { sinceLastHandoverMs: 45_000, failedHandovers: 1 },
      { handOver: false, why: "backoff" },
    ],
    [
      "… and after it",
      { sinceLastHandoverMs: 60_000, failedHandovers: 1 },
      { handOver: true, to: "d2" },
    ],
    [
      "stability comes before business",
      { preferredAliveMs: 1, quiet: false },
      { handOver: false, why: "not-stable" },
    ],
  ])("%s", (_, over, verdict) => {
    expect(handoverVerdict({ ...due, ...over }, policy)).toEqual(verdict);
  });
});

describe("handoverBackoffMs", () => {
  it.each([
    [0, 30_000],
    [1, 60_000],
    [2, 120_000],
    [4, 480_000],
    [5, 600_000],
    [1000, 600_000],
  ])("after %i failed handovers: %i ms", (failed, ms) => {
    expect(handoverBackoffMs(policy, failed)).toBe(ms);
  });
});
