// The fault trials' fixed-seed subset (issue 13): every fault kind once, with short
// durations (inside the semi-sync timeout, 10 s), on the multi-host lab. Nothing
// acknowledged lost, nothing unexpected, no two servers acknowledging at once, converged
// within the bound, and a failover exactly where one is right (a failover of a healthy
// primary is a false one). About 3 minutes in all. The long randomized run is the
// benchmark: `pnpm trials --n 200`.
import { describe, expect, it } from "vitest";
import type { Durability } from "../src/trials/durability.js";
import type { FaultKind } from "../src/trials/fault-kinds.js";
import { runTrial } from "../src/trials/trial.js";

type Failover = "yes" | "no" | "either";

interface Case {
  readonly fault: FaultKind;
  readonly ms: number;
  readonly seed: number;
  readonly failover: Failover;
  /** Default semisync. */
  readonly durability?: Durability;
}

const CASES: Case[] = [
  { fault: "kill9", ms: 0, seed: 13_000, failover: "yes" },
  { fault: "sigstop", ms: 4_000, seed: 17_000, failover: "yes" },
  { fault: "isolate", ms: 6_000, seed: 19_000, failover: "yes" },
  { fault: "slow", ms: 5_000, seed: 13_004, failover: "no" },
  { fault: "freeze-host", ms: 5_000, seed: 13_005, failover: "yes" },
  { fault: "isolate-marina", ms: 5_000, seed: 13_006, failover: "no" },
  // Seed 13007 found a loss here (1 run in 9; seed 7002 at 28 s, 3 in 8): a failover
  // blocked during the split went ahead at the heal, killed db1 and promoted db3 while db2,
  // not yet seen again, held the writes db1 had acknowledged. Fixed by the acknowledger
  // rule's "past" half: a semi-sync replica that cannot be inspected holds any failover.
  { fault: "split", ms: 5_000, seed: 13_007, failover: "either" },
  { fault: "isolate-replicas", ms: 5_000, seed: 13_008, failover: "yes" },
  { fault: "one-way", ms: 5_000, seed: 13_009, failover: "yes" },
  { fault: "kill-decider", ms: 0, seed: 13_010, failover: "yes" },
  // The candidate comes back after the old primary (3 s): either may end up primary.
  { fault: "kill-candidate", ms: 3_000, seed: 13_011, failover: "either" },
  { fault: "kill-executor", ms: 0, seed: 13_012, failover: "yes" },
  { fault: "stop-decider", ms: 4_500, seed: 13_013, failover: "no" },
  // The primary is back after 3 s: an election of the lease's stream leader may hold the
  // failover off until then (seed 7001: no failover).
  { fault: "kill-nats", ms: 3_000, seed: 13_014, failover: "either" },
  { fault: "switchover-lag", ms: 3_000, seed: 13_015, failover: "yes" },
  // Past the semi-sync timeout (10 s), where plain semi-sync loses what db1 acknowledges
  // to the writer beside it: strict durability must not.
  {
    fault: "isolate-replicas",
    ms: 12_000,
    seed: 13_016,
    failover: "yes",
    durability: "strict",
  },
  // The same past the timeout with plain semi-sync: it lost 271–1435 writes a trial (seed
  // 11) until the agent beside db1 fenced it on its own within ~3 s of the cut.
  {
    fault: "isolate-replicas",
    ms: 12_000,
    seed: 13_017,
    failover: "yes",
  },
];

/** Faults that strike at a moment of a failover: the trial says what it struck. */
const STRIKES: ReadonlySet<FaultKind> = new Set([
  "kill-decider",
  "kill-candidate",
  "kill-executor",
]);

describe("fault trials, fixed seeds", () => {
  for (const c of CASES) {
    const durability = c.durability ?? "semisync";
    it(`${c.fault} (${c.ms} ms, seed ${c.seed}, ${durability})`, async () => {
      const r = await runTrial({
        seed: c.seed,
        fault: c.fault,
        faultMs: c.ms,
        durability,
      });
      const summary = JSON.stringify(r);
      expect(r.acked, summary).toBeGreaterThan(20);
      expect(r.lostIds, summary).toEqual([]);
      expect(r.unexpectedIds, summary).toEqual([]);
      expect(r.dualAckIds, summary).toEqual([]);
      expect(r.convergedMs, summary).not.toBeNull();
      expect(r.falseFailover, summary).toBe(false);
      expect(r.staleActs, summary).toBe(0);
      if (c.failover !== "either") expect(r.failover, summary).toBe(c.failover === "yes");
      if (STRIKES.has(c.fault)) expect(r.detail, summary).not.toMatch(/^no /);
      if (c.fault === "switchover-lag") expect(r.newPrimary, summary).toBe("db2");
    });
  }
});
