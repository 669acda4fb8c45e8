// One fault trial (issue 13, first part): a fresh stack on the multi-host lab (3 database
// hosts with agents, a 3-node NATS cluster, a monitor, 2 deciders, 2 executors), two
// writers as the non-SUPER `app` account — one following Marina's published topology, one
// pinned to the initial primary whatever happens — one fault chosen by the seed, then the
// wait for convergence and the checker (checker.ts).
//
// Not yet the whole shape: the services and the writers run in the lab's root
// namespace (no monitor per namespace, no writer inside the primary's host), and only
// kill -9, SIGSTOP, isolating the primary's host and a slow primary are injected.
import { type MariaNode, sleep, startWriter } from "@marina/lab";
import type { Logger } from "pino";
import { type Observer, observe } from "../observer.js";
import { type Stack, startStack } from "../stack.js";
import { type Ack, type CheckResult, checkTrial, type WriterRecord } from "./checker.js";
import { type Durability, durabilityStack } from "./durability.js";

export type { Durability } from "./durability.js";

export const FAULT_KINDS = ["kill9", "sigstop", "isolate", "slow"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface TrialSpec {
  readonly seed: number;
  readonly fault: FaultKind;
  readonly durability: Durability;
  /** How long the fault lasts (SIGSTOP, isolation); default: drawn from the seed. */
  readonly faultMs?: number;
  /** Convergence must come within this after the fault ends. Default 30 s. */
  readonly convergeWithinMs?: number;
  readonly log?: Logger;
}

export type OldPrimaryFate = "primary" | "rejoined" | "diverged" | "other";

export interface TrialResult extends Omit<CheckResult, "lost" | "unexpected" | "dualAck"> {
  readonly seed: number;
  readonly fault: FaultKind;
  readonly faultMs: number;
  readonly durationMs: number;
  readonly lost: number;
  readonly unexpected: number;
  readonly dualAck: number;
  /** The ids, for a report (empty when clean). */
  readonly lostIds: readonly number[];
  readonly unexpectedIds: readonly number[];
  readonly dualAckIds: readonly number[];
  readonly failover: boolean;
  /** A failover when the primary did not fail (the slow primary). */
  readonly falseFailover: boolean;
  /** From the end of the fault to one writable server with the others following it. */
  readonly convergedMs: number | null;
  readonly newPrimary: string | null;
  readonly oldPrimary: OldPrimaryFate;
  /** Fault → the first write acknowledged by another server than the old primary. */
  readonly firstWriteAfterFaultMs: number | null;
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

/** The fault's duration for a seed: SIGSTOP 1–15 s, isolation 5–30 s, slow 10–20 s. */
export function faultDuration(fault: FaultKind, random: () => number): number {
  if (fault === "sigstop") return Math.round(1_000 + random() * 14_000);
  if (fault === "isolate") return Math.round(5_000 + random() * 25_000);
  if (fault === "slow") return Math.round(10_000 + random() * 10_000);
  return 0;
}

/**
 * A slow but healthy primary: SIGSTOP for 600 ms, SIGCONT for 400 ms, for `ms`. Probes and
 * replicas still hear it within `queryTimeoutMs` (1 s) and `replicaQuietMs` (3 s): Marina
 * must NOT fail it over.
 */
async function slowDown(node: MariaNode, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await node.sigstop();
    await sleep(600);
    await node.sigcont();
    await sleep(400);
  }
}

type Row = Record<string, unknown>;

async function readOnly(node: MariaNode): Promise<boolean | undefined> {
  try {
    const [r] = (await node.query("SELECT @@global.read_only AS ro", undefined, {
      timeoutMs: 1_000,
    })) as Row[];
    return Number(r?.ro) === 1;
  } catch {
    return undefined; // down, frozen or unreachable
  }
}

async function replicatesFrom(node: MariaNode, source: MariaNode): Promise<boolean> {
  try {
    const rows = (await node.query("SHOW ALL SLAVES STATUS", undefined, {
      timeoutMs: 1_000,
    })) as Row[];
    return rows.some(
      (r) =>
        r.Master_Host === source.host &&
        Number(r.Master_Port) === source.port &&
        r.Slave_IO_Running === "Yes" &&
        r.Slave_SQL_Running === "Yes",
    );
  } catch {
    return false;
  }
}

/** The decider's `diverged` map (cmd.status). */
async function flaggedDiverged(stack: Stack): Promise<Set<string>> {
  try {
    const m = await stack.nc.request("marina.v1.main.cmd.status", "{}", { timeout: 2_000 });
    const data = (JSON.parse(m.string()) as { payload?: { data?: { diverged?: object } } }).payload
      ?.data;
    return new Set(Object.keys(data?.diverged ?? {}));
  } catch {
    return new Set();
  }
}

/**
 * One writable server, and every other either replicating from it or flagged diverged:
 * its name, or undefined while that does not hold.
 */
async function converged(stack: Stack): Promise<string | undefined> {
  const nodes = stack.lab.nodes;
  const ro = await Promise.all(nodes.map(readOnly));
  const writable = nodes.filter((_, i) => ro[i] === false);
  if (writable.length !== 1) return undefined;
  const w = writable[0]!;
  const diverged = await flaggedDiverged(stack);
  for (const n of nodes) {
    if (n === w || diverged.has(n.name)) continue;
    if (!(await replicatesFrom(n, w))) return undefined;
  }
  return w.name;
}

function recordWriter(name: string) {
  const acks: Ack[] = [];
  return {
    acks,
    onAck: (id: number, at: number, server: string) => {
      acks.push({ id, at, server });
    },
    record: (w: { acked: readonly number[]; failed: readonly { id: number }[] }): WriterRecord => ({
      name,
      acks,
      attempted: [...w.acked, ...w.failed.map((f) => f.id)],
    }),
  };
}

export async function runTrial(spec: TrialSpec): Promise<TrialResult> {
  const started = performance.now();
  const random = seededRandom(spec.seed);
  const faultMs = spec.faultMs ?? faultDuration(spec.fault, random);
  const stack = await startStack({
    lab: { nodes: 3, hosts: true, natsNodes: 3, ...durabilityStack(spec.durability).lab },
    config: durabilityStack(spec.durability).config,
    deciders: 2,
    executors: 2,
    agents: true,
    ...(spec.log ? { log: spec.log } : {}),
  });
  let obs: Observer | undefined;
  try {
    const { lab } = stack;
    obs = observe(stack.nc, "main");
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    let primary = "db1";
    obs.close();
    obs = observe(stack.nc, "main", (o) => {
      if (o.kind === "topology" && o.topology.primary) primary = o.topology.primary;
    });
    const old = lab.node("db1");
    const follow = recordWriter("follow");
    const beside = recordWriter("beside");
    const followWriter = await startWriter(() => lab.node(primary), {
      intervalMs: 10,
      onAck: follow.onAck,
    });
    const besideWriter = await startWriter(old, {
      intervalMs: 10,
      firstId: 10_000_000,
      onAck: beside.onAck,
    });
    await followWriter.waitForAcks(20, 20_000);

    const faultAt = performance.now();
    if (spec.fault === "kill9") {
      await old.kill9();
      await sleep(3_000);
      await old.start();
    } else if (spec.fault === "sigstop") {
      await old.sigstop();
      await sleep(faultMs);
      await old.sigcont();
    } else if (spec.fault === "slow") {
      await slowDown(old, faultMs);
    } else {
      const cut = await lab.network!.isolate(lab.hostOf("db1"));
      await sleep(faultMs);
      await cut.heal();
    }
    const faultEnded = performance.now();

    const bound = spec.convergeWithinMs ?? 30_000;
    let winner: string | undefined;
    let convergedMs: number | null = null;
    while (performance.now() - faultEnded < bound) {
      winner = await converged(stack);
      if (winner) {
        convergedMs = Math.round(performance.now() - faultEnded);
        break;
      }
      await sleep(250);
    }
    await Promise.all([followWriter.stop(), besideWriter.stop()]);
    // Count on the writable server now (or on db1 if none is).
    const finalName = winner ?? (await converged(stack)) ?? primary;
    const final = lab.node(finalName);
    const present = ((await final.query("SELECT id FROM app.lab_writer")) as Row[]).map((r) =>
      Number(r.id),
    );
    const check = checkTrial({
      writers: [follow.record(followWriter), beside.record(besideWriter)],
      present,
      faultAt,
    });
    const diverged = await flaggedDiverged(stack);
    const fate: OldPrimaryFate =
      finalName === "db1"
        ? "primary"
        : diverged.has("db1")
          ? "diverged"
          : (await replicatesFrom(old, final))
            ? "rejoined"
            : "other";
    const firstOther = [...follow.acks, ...beside.acks]
      .filter((a) => a.at >= faultAt && a.server !== "db1")
      .map((a) => a.at - faultAt);
    return {
      seed: spec.seed,
      fault: spec.fault,
      faultMs,
      durationMs: Math.round(performance.now() - started),
      acked: check.acked,
      lost: check.lost.length,
      unexpected: check.unexpected.length,
      dualAck: check.dualAck.length,
      lostIds: check.lost,
      unexpectedIds: check.unexpected,
      dualAckIds: check.dualAck,
      failover: finalName !== "db1",
      falseFailover: spec.fault === "slow" && finalName !== "db1",
      convergedMs,
      newPrimary: winner ?? null,
      oldPrimary: fate,
      firstWriteAfterFaultMs: firstOther.length > 0 ? Math.round(Math.min(...firstOther)) : null,
    };
  } finally {
    obs?.close();
    await stack.close();
  }
}
