import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { assessPrimary } from "../src/evidence.js";
import { recordHeartbeat, recordSample } from "../src/knowledge.js";
import { initialState } from "../src/state.js";
import { conn, heartbeat, makeConfig, obs, sample, T0 } from "./helpers.js";

const config = makeConfig({ failover: { failuresBeforeDead: 2, replicaQuietMs: 3000 } });

type Conn = Parameters<typeof conn>[2];
const replica = (c: Conn, source = "db1"): ServerObservation =>
  obs({
    gtidCurrentPos: "0-1-100",
    replication: [conn(config, source, { gtidIoPos: "0-1-100", ...c })],
  });

interface Case {
  name: string;
  primary: { monitor?: string; failures?: number; reachable?: boolean; ageMs?: number }[];
  db2?: ServerObservation | null;
  db3?: ServerObservation | null;
  agent?: { running: boolean; ageMs?: number };
  /** Replicas sampled this long before the primary's first failed probe. */
  replicaAgeMs?: number;
  verdict: string;
  because?: RegExp;
}

const LOST: Conn = { ioThread: "Connecting", quietMs: 900, secondsBehindMaster: null };
const HEARS: Conn = { ioThread: "Yes", quietMs: 150 };

const cases: Case[] = [
  {
    name: "only the monitor lost it: replicas still hear it → NOT dead",
    primary: [{ failures: 5 }],
    db2: replica(HEARS),
    db3: replica(HEARS),
    verdict: "unreachable-by-monitor",
    because: /replicas still hear it: db2 .*db3/,
  },
  {
    name: "replicas last sampled before the monitor lost it → suspect, nothing said yet",
    primary: [{ failures: 1 }],
    db2: replica(HEARS),
    db3: replica(HEARS),
    replicaAgeMs: 300,
    verdict: "suspect",
    because: /waiting for replica samples taken since \(db2, db3\)/,
  },
  {
    name: "monitor and every replica lost it (kill -9: IO Connecting) → dead",
    primary: [{ failures: 2 }],
    db2: replica(LOST),
    db3: replica(LOST),
    verdict: "dead",
    because: /every replica lost it/,
  },
  {
    name: "SIGSTOP-like: IO still Yes but quiet above the bound → dead",
    primary: [{ failures: 3 }],
    db2: replica({ ioThread: "Yes", quietMs: 3000 }),
    db3: replica({ ioThread: "Yes", quietMs: 4500 }),
    verdict: "dead",
    because: /nothing heard for 3000 ms/,
  },
  {
    name: "SIGSTOP-like but quiet below the bound → not dead yet",
    primary: [{ failures: 3 }],
    db2: replica({ ioThread: "Yes", quietMs: 2999 }),
    db3: replica({ ioThread: "Yes", quietMs: 2000 }),
    verdict: "unreachable-by-monitor",
  },
  {
    name: "quietMs not measured yet (null) with IO Yes counts as hearing",
    primary: [{ failures: 3 }],
    db2: replica({ ioThread: "Yes", quietMs: null }),
    db3: replica(LOST),
    verdict: "unreachable-by-monitor",
    because: /db2 \(IO thread Yes, heard \(not yet measured\)\)/,
  },
  {
    name: "heartbeat counter frozen is NOT evidence: quietMs (event or heartbeat) is small",
    primary: [{ failures: 3 }],
    db2: replica({ ioThread: "Yes", quietMs: 100, receivedHeartbeats: 0, heartbeatPeriodSec: 1 }),
    db3: replica({ ioThread: "Yes", quietMs: 100, receivedHeartbeats: 0, heartbeatPeriodSec: 1 }),
    verdict: "unreachable-by-monitor",
  },
  {
    name: "one replica lost it, the other still hears it → not dead",
    primary: [{ failures: 3 }],
    db2: replica(LOST),
    db3: replica(HEARS),
    verdict: "unreachable-by-monitor",
    because: /still hear it: db3/,
  },
  {
    name: "replicas lost it but the monitor failed fewer than failuresBeforeDead times",
    primary: [{ failures: 1 }],
    db2: replica(LOST),
    db3: replica(LOST),
    verdict: "unreachable-seen-by-replicas",
    because: /waiting for 2 consecutive failures/,
  },
  {
    name: "a second monitor still reaches it → healthy",
    primary: [
      { monitor: "m1", failures: 4 },
      { monitor: "m2", reachable: true },
    ],
    db2: replica(LOST),
    db3: replica(LOST),
    verdict: "healthy",
    because: /reachable by m2/,
  },
  {
    name: "every monitor with a RECENT sample lost it; a stale reachable sample is ignored",
    primary: [
      { monitor: "m1", failures: 4 },
      { monitor: "m2", reachable: true, ageMs: 60_000 },
    ],
    db2: replica(LOST),
    db3: replica(LOST),
    verdict: "dead",
  },
  {
    name: "one monitor short of failures among two → seen by replicas only",
    primary: [
      { monitor: "m1", failures: 4 },
      { monitor: "m2", failures: 1 },
    ],
    db2: replica(LOST),
    db3: replica(LOST),
    verdict: "unreachable-seen-by-replicas",
    because: /m2: 1/,
  },
  {
    name: "no replica reachable → cannot confirm (monitor may be the one cut off)",
    primary: [{ failures: 9 }],
    db2: null,
    db3: null,
    verdict: "unreachable-by-monitor",
    because: /nor any other server/,
  },
  {
    name: "replicas reachable but none replicates from it → cannot confirm",
    primary: [{ failures: 9 }],
    db2: obs(),
    db3: obs(),
    verdict: "unreachable-by-monitor",
    because: /no reachable replica replicates from it/,
  },
  {
    name: "agent says mariadbd is gone: stands in for the replica side",
    primary: [{ failures: 2 }],
    db2: replica(HEARS),
    db3: obs(),
    agent: { running: false },
    verdict: "dead",
    because: /agent on host1 reports mariadbd not running/,
  },
  {
    name: "a stale agent heartbeat is not evidence",
    primary: [{ failures: 2 }],
    db2: replica(HEARS),
    agent: { running: false, ageMs: 60_000 },
    verdict: "unreachable-by-monitor",
  },
  {
    name: "agent says mariadbd runs (SIGSTOP): replicas decide",
    primary: [{ failures: 2 }],
    db2: replica({ ioThread: "Yes", quietMs: 5000 }),
    db3: replica({ ioThread: "Yes", quietMs: 5000 }),
    agent: { running: true },
    verdict: "dead",
  },
  {
    name: "chain: only direct replicas count (db3 replicates from db2)",
    primary: [{ failures: 2 }],
    db2: replica(LOST),
    db3: replica(HEARS, "db2"),
    verdict: "dead",
  },
  {
    name: "no recent monitor sample at all → unknown",
    primary: [{ failures: 9, ageMs: 60_000 }],
    db2: replica(LOST),
    verdict: "unknown",
  },
  {
    name: "reachable → healthy even when replicas' IO is down",
    primary: [{ reachable: true }],
    db2: replica(LOST),
    verdict: "healthy",
  },
];

describe("assessPrimary (rule 1, failure verification)", () => {
  it.each(cases)("$name", (c) => {
    const state = initialState(config.name);
    const now = T0 + 100_000;
    // Replicas first (sampled replicaAgeMs earlier), then the primary's samples.
    const replicasAt = now - (c.replicaAgeMs ?? 0);
    if (c.db2 !== undefined) recordSample(state, config, sample(config, "db2", c.db2), replicasAt);
    if (c.db3 !== undefined) recordSample(state, config, sample(config, "db3", c.db3), replicasAt);
    for (const p of c.primary) {
      const o = p.reachable ? obs({ readOnly: false }) : null;
      const at = now - (p.ageMs ?? 0);
      recordSample(
        state,
        config,
        sample(config, "db1", o, { monitor: p.monitor ?? "m1", failures: p.failures }),
        at,
      );
    }
    if (c.agent)
      recordHeartbeat(
        state,
        heartbeat("host1", "db1", c.agent.running),
        now - (c.agent.ageMs ?? 0),
      );
    const a = assessPrimary(state, config, "db1", now, 15_000);
    expect(a.verdict).toBe(c.verdict);
    if (c.because) expect(a.reason).toMatch(c.because);
  });
});
