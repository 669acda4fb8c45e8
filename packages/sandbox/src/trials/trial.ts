// One fault trial (issue 13): a fresh stack on the multi-host lab (3 database hosts, each
// with its agent as a process inside the host, a 3-node NATS cluster, a monitor, 2
// deciders, 2 executors), two writers as the non-SUPER `app` account — one following
// Marina's published topology, one pinned to the initial primary whatever happens (inside
// the primary's host for the faults that cut it off with it) — one fault chosen by the
// seed (fault-kinds.ts, faults.ts), then the wait for convergence and the checker
// (checker.ts).
//
// Not yet the whole shape: Marina's services and the follow writer run in the lab's
// root namespace (one monitor, not one per namespace).
import type { Logger } from "pino";
import { type Observer, observe } from "../observer.js";
import { type Stack, startStack } from "../stack.js";
import { type CheckResult, checkTrial, type WriterRecord } from "./checker.js";
import { converged, flaggedDiverged, replicatesFrom, waitConverged } from "./convergence.js";
import { type Durability, durabilityStack } from "./durability.js";
import { type ExecWatch, watchExec } from "./exec-watch.js";
import { FAULTS, type FaultKind, faultDuration, seededRandom } from "./fault-kinds.js";
import { injectFault } from "./faults.js";
import { startHostWriter, startLocalWriter, type TrialWriter } from "./writers.js";

export { FAULT_KINDS, type FaultKind } from "./fault-kinds.js";

export interface TrialSpec {
  readonly seed: number;
  readonly fault: FaultKind;
  readonly durability: Durability;
  /** How long the fault lasts (FAULTS[fault].ms); default: drawn from the seed. */
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
  /** What the seed chose and what the fault struck (e.g. which decider, which direction). */
  readonly detail: string;
  /** The pinned writer ran inside the old primary's host. */
  readonly writerOnHost: boolean;
  readonly durationMs: number;
  readonly lost: number;
  readonly unexpected: number;
  readonly dualAck: number;
  /** The ids, for a report (empty when clean). */
  readonly lostIds: readonly number[];
  readonly unexpectedIds: readonly number[];
  readonly dualAckIds: readonly number[];
  readonly failover: boolean;
  /** A failover although the primary stayed healthy (FAULTS[fault].primaryFails false). */
  readonly falseFailover: boolean;
  /** stop-decider: what the resumed decider published or requested with its old epoch. */
  readonly staleActs: number;
  /** From the end of the fault to one writable server with the others following it. */
  readonly convergedMs: number | null;
  /**
   * Servers found down after the fault (Marina's STONITH killed them) and started again by
   * the trial after RESTART_SEC_MS, as a service manager would.
   */
  readonly restarted: readonly string[];
  readonly newPrimary: string | null;
  readonly oldPrimary: OldPrimaryFate;
  /** Fault → the first write acknowledged by another server than the old primary. */
  readonly firstWriteAfterFaultMs: number | null;
}

type Row = Record<string, unknown>;

/** What the writers were told against what `finalName` holds, and the old primary's fate. */
async function judge(
  stack: Stack,
  finalName: string,
  records: readonly WriterRecord[],
  faultAt: number,
): Promise<{ check: CheckResult; fate: OldPrimaryFate; firstWriteAfterFaultMs: number | null }> {
  const final = stack.lab.node(finalName);
  const present = ((await final.query("SELECT id FROM app.lab_writer")) as Row[]).map((r) =>
    Number(r.id),
  );
  const primaryCheck = checkTrial({ writers: records, present, faultAt });
  const diverged = await flaggedDiverged(stack);
  // A server left fenced and flagged diverged may hold only writes no client was told
  // succeeded: an acknowledged one missing from the primary is already lost above, and one
  // no writer ever attempted is unexpected wherever it is.
  const strays: number[] = [];
  for (const name of diverged) {
    if (name === finalName) continue;
    const ids = await stack.lab
      .node(name)
      .query("SELECT id FROM app.lab_writer", undefined, { timeoutMs: 5_000 })
      .then((rows) => (rows as Row[]).map((r) => Number(r.id)))
      .catch(() => [] as number[]);
    strays.push(...checkTrial({ writers: records, present: ids, faultAt }).unexpected);
  }
  const check: CheckResult = {
    ...primaryCheck,
    unexpected: [...new Set([...primaryCheck.unexpected, ...strays])].sort((a, b) => a - b),
  };
  const fate: OldPrimaryFate =
    finalName === "db1"
      ? "primary"
      : diverged.has("db1")
        ? "diverged"
        : (await replicatesFrom(stack.lab.node("db1"), final))
          ? "rejoined"
          : "other";
  const firstOther = records
    .flatMap((w) => w.acks)
    .filter((a) => a.at >= faultAt && a.server !== "db1")
    .map((a) => a.at - faultAt);
  const firstWriteAfterFaultMs = firstOther.length > 0 ? Math.round(Math.min(...firstOther)) : null;
  return { check, fate, firstWriteAfterFaultMs };
}

export async function runTrial(spec: TrialSpec): Promise<TrialResult> {
  const started = performance.now();
  const random = seededRandom(spec.seed);
  const kind = FAULTS[spec.fault];
  // Drawn even when given, so that the seed's later draws do not move.
  const drawnMs = faultDuration(spec.fault, random);
  const faultMs = spec.faultMs ?? drawnMs;
  const durability = durabilityStack(spec.durability);
  const stack = await startStack({
    // A second monitor on a host of its own: two vantage points, as the issue asks.
    lab: { nodes: 3, hosts: true, natsNodes: 3, extraHosts: ["mon2"], ...durability.lab },
    monitorHosts: ["mon2"],
    config: durability.config,
    deciders: 2,
    executors: 2,
    agents: true,
    processes: { agents: true, ...kind.processes },
    ...(spec.log ? { log: spec.log } : {}),
  });
  let obs: Observer | undefined;
  let exec: ExecWatch | undefined;
  const writers: TrialWriter[] = [];
  try {
    const { lab } = stack;
    let primary = "db1";
    obs = observe(stack.nc, "main", (o) => {
      if (o.kind === "topology" && o.topology.primary) primary = o.topology.primary;
    });
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    exec = watchExec(stack.nc);
    const old = lab.node("db1");
    const follow = await startLocalWriter(() => lab.node(primary), {
      name: "follow",
      firstId: 1,
      intervalMs: 10,
    });
    writers.push(follow);
    const besideOptions = { name: "beside", firstId: 10_000_000, intervalMs: 10 };
    const beside = kind.writerOnHost
      ? await startHostWriter(lab, old, besideOptions)
      : await startLocalWriter(old, besideOptions);
    writers.push(beside);
    await Promise.all([follow.waitForAcks(20, 20_000), beside.waitForAcks(5, 20_000)]);

    const faultAt = performance.now();
    const outcome = await injectFault(spec.fault, { stack, obs, exec, old, ms: faultMs, random });

    const settled = await waitConverged(stack, spec.convergeWithinMs ?? 30_000);
    const winner = settled.winner;
    const records = await Promise.all([follow.stop(), beside.stop()]);
    // Count on the writable server now (or on the last published primary if none is).
    const finalName = winner ?? (await converged(stack)) ?? primary;
    const { check, fate, firstWriteAfterFaultMs } = await judge(stack, finalName, records, faultAt);
    const failover = finalName !== "db1";
    return {
      seed: spec.seed,
      fault: spec.fault,
      faultMs,
      detail: outcome.detail,
      writerOnHost: kind.writerOnHost,
      durationMs: Math.round(performance.now() - started),
      acked: check.acked,
      lost: check.lost.length,
      unexpected: check.unexpected.length,
      dualAck: check.dualAck.length,
      lostIds: check.lost,
      unexpectedIds: check.unexpected,
      dualAckIds: check.dualAck,
      failover,
      falseFailover: !kind.primaryFails && failover,
      staleActs: outcome.staleActs ?? 0,
      convergedMs: settled.ms,
      restarted: settled.restarted,
      newPrimary: winner ?? null,
      oldPrimary: fate,
      firstWriteAfterFaultMs,
    };
  } finally {
    // Writers stop twice safely; a writer process must not outlive its host.
    await Promise.all(writers.map((w) => w.stop().catch(() => {})));
    exec?.close();
    obs?.close();
    await stack.close();
  }
}
