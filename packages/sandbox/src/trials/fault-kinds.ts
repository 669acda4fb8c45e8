// The fault trials' fault kinds (issue 13) as data: how long each lasts (drawn from the
// seed), whether the primary really fails (else a failover is a false one), where the
// pinned writer sits, and which services must be OS processes for it. Pure; the
// injection is in faults.ts.

export const FAULT_KINDS = [
  "kill9",
  "sigstop",
  "isolate",
  "slow",
  "freeze-host",
  "isolate-marina",
  "split",
  "isolate-replicas",
  "one-way",
  "kill-decider",
  "kill-candidate",
  "kill-executor",
  "stop-decider",
  "kill-nats",
  "switchover-lag",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  /** What is done, for docs and help. */
  readonly what: string;
  /** [min, max] of the fault's duration in ms, drawn from the seed; null: none (a kill). */
  readonly ms: readonly [number, number] | null;
  /**
   * The primary really fails, or is asked to move (a switchover): a failover is right.
   * False: it stays healthy and reachable by its replicas, and a failover is a false one.
   */
  readonly primaryFails: boolean;
  /**
   * The pinned writer runs inside db1's host (its network namespace): on db1's side of a
   * cut, still writing to it. Otherwise it runs in the root namespace with Marina.
   */
  readonly writerOnHost: boolean;
  /** Services that run as OS processes for this fault (agents always do in the trials). */
  readonly processes: { readonly deciders?: boolean; readonly executors?: boolean };
}

export const FAULTS: Readonly<Record<FaultKind, FaultSpec>> = {
  kill9: {
    what: "kill -9 the primary, restart it 3 s later",
    ms: null,
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  sigstop: {
    what: "SIGSTOP the primary's mariadbd, then SIGCONT",
    ms: [1_000, 15_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  isolate: {
    what: "cut db1's host from everything, then heal",
    ms: [5_000, 30_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  slow: {
    what: "a slow but healthy primary: SIGSTOP 600 ms / SIGCONT 400 ms",
    ms: [10_000, 20_000],
    primaryFails: false,
    writerOnHost: false,
    processes: {},
  },
  "freeze-host": {
    what: "SIGSTOP db1's mariadbd and its agent together, then SIGCONT",
    ms: [1_000, 15_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  "isolate-marina": {
    what: "cut db1's host from Marina (root namespace) and the NATS hosts, not from db2/db3",
    ms: [5_000, 30_000],
    primaryFails: false,
    writerOnHost: true,
    processes: {},
  },
  split: {
    what: "{db1, db2} | {Marina, NATS, db3}",
    ms: [5_000, 30_000],
    primaryFails: true,
    writerOnHost: true,
    processes: {},
  },
  "isolate-replicas": {
    what: "cut db1 from db2, db3, Marina and NATS; the pinned writer on db1's host still writes",
    ms: [5_000, 30_000],
    primaryFails: true,
    writerOnHost: true,
    processes: {},
  },
  "one-way": {
    what: "a one-way cut, db1 → all others or all others → db1 (the seed chooses)",
    ms: [5_000, 30_000],
    primaryFails: true,
    writerOnHost: true,
    processes: {},
  },
  "kill-decider": {
    what: "kill -9 the primary, and the leading decider once the failover shows drain/detach",
    ms: null,
    primaryFails: true,
    writerOnHost: false,
    processes: { deciders: true },
  },
  "kill-candidate": {
    what: "kill -9 the primary, and the candidate's mariadbd at the promote phase; restart it after ms",
    ms: [2_000, 6_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  "kill-executor": {
    what: "kill -9 the primary, and the executor running the failover's first non-inspect step",
    ms: null,
    primaryFails: true,
    writerOnHost: false,
    processes: { executors: true },
  },
  "stop-decider": {
    what: "SIGSTOP the leading decider past its lease (3 s TTL + 1–5 s), primary healthy",
    ms: [4_000, 8_000],
    primaryFails: false,
    writerOnHost: false,
    processes: { deciders: true },
  },
  "kill-nats": {
    what: "kill -9 the primary and one nats-server (the seed: KV_marina_leader's leader or any); restart it after ms",
    ms: [2_000, 6_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
  "switchover-lag": {
    what: "switchover to db2 while db3's SQL thread is stopped for ms",
    ms: [2_000, 8_000],
    primaryFails: true,
    writerOnHost: false,
    processes: {},
  },
};

/** The fault's duration for a seed (0 for a kill): the first draw of the trial's generator. */
export function faultDuration(fault: FaultKind, random: () => number): number {
  const range = FAULTS[fault].ms;
  if (!range) return 0;
  const [min, max] = range;
  return Math.round(min + random() * (max - min));
}

/** mulberry32: a small seeded generator, enough to make a trial reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
