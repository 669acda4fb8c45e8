import { reachability } from "../knowledge.js";
import type { FailoverPlan, Operation } from "../state.js";
import {
  type Env,
  type Next,
  phaseOf,
  promoteSteps,
  replicaSemiSyncSides,
  type StepSpec,
  semiSyncStep,
} from "./common.js";

// The failover's phases that only build steps (failover.ts decides between them).

/** The failover's phases, in order ("" before the first, undo on the failure path). */
export const FailoverPhases = [
  "",
  "pre-hook",
  "fence",
  "inspect",
  "drain",
  "detach",
  "pull",
  "stonith",
  "promote",
  "repoint",
  "semi-sync",
  "undo",
] as const;
export type FailoverPhase = (typeof FailoverPhases)[number];
type FailoverNext = Next<FailoverPhase>;

/** The candidate's temporary connection for pulling from a more advanced replica. */
export const PULL_CONNECTION = "marina_pull";

export function failoverPlanOf(op: Operation): FailoverPlan {
  if (op.plan.kind !== "failover") throw new Error(`${op.opId} is not a failover`);
  return op.plan;
}

export function useGtidOf(usingGtid: string): "slave_pos" | "current_pos" {
  return usingGtid === "Current_Pos" ? "current_pos" : "slave_pos";
}

export function inspectPhase(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const { config, now } = env.ctx;
  const steps: StepSpec[] = [];
  for (const s of config.servers) {
    if (s.name === p.failed) continue;
    // Known-unreachable servers are left out: each would only cost retries.
    if (reachability(env.state, config, s.name, now) === "unreachable") {
      p.skipped.push({ server: s.name, why: "unreachable" });
      continue;
    }
    steps.push({
      key: `inspect-${s.name}`,
      server: s.name,
      step: { kind: "inspect" },
      bestEffort: true,
    });
  }
  return phaseOf(
    "inspect",
    steps,
    env.opts.phaseTimeoutMs,
    "reading fresh positions of live replicas",
  );
}

/** Key of the detach step of a replica's connection to the failed primary. */
export function detachKey(server: string, connection: string): string {
  return `detach-${server}-${connection}`;
}

/**
 * Stops every live replica's connection to the failed primary at once: the candidate's
 * (it must succeed: its relay log is drained, and nothing may apply alongside a pull) and
 * every replica to repoint (best effort: the repoint stops it again).
 */
export function detachPhase(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const c = p.candidate!;
  const steps: StepSpec[] = [
    { key: "stop", server: c, step: { kind: "stop-replication", connection: p.connection! } },
  ];
  for (const r of p.repoint) {
    steps.push({
      key: detachKey(r.server, r.connection),
      server: r.server,
      step: { kind: "stop-replication", connection: r.connection },
      bestEffort: true,
    });
  }
  return phaseOf(
    "detach",
    steps,
    env.opts.phaseTimeoutMs,
    `stopping replication from ${p.failed} on ${[c, ...p.repoint.map((r) => r.server)].join(", ")}`,
  );
}

export function pullPhase(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const c = p.candidate!;
  const f = env.ctx.config.failover;
  // The candidate's connection to the dead primary was stopped (detach): it cannot apply
  // alongside the pull connection.
  const steps: StepSpec[] = [];
  let prev: string | null = null;
  p.pulls.forEach((x, i) => {
    const k = (n: string) => `${n}-${i}`;
    steps.push(
      {
        key: k("change"),
        server: c,
        step: {
          kind: "change-master",
          connection: PULL_CONNECTION,
          source: x.from,
          useGtid: "slave_pos",
        },
        after: prev === null ? [] : [prev],
      },
      {
        key: k("start"),
        server: c,
        step: { kind: "start-replication", connection: PULL_CONNECTION, untilGtid: x.pos },
        after: [k("change")],
      },
      {
        key: k("wait"),
        server: c,
        step: { kind: "wait-gtid", pos: x.pos, timeoutMs: f.drainTimeoutMs },
        after: [k("start")],
      },
      {
        key: k("stop"),
        server: c,
        step: { kind: "stop-replication", connection: PULL_CONNECTION },
        after: [k("wait")],
      },
      {
        key: k("reset"),
        server: c,
        step: { kind: "reset-replication", connection: PULL_CONNECTION },
        after: [k("stop")],
      },
    );
    prev = k("reset");
  });
  return phaseOf(
    "pull",
    steps,
    p.pulls.length * (f.drainTimeoutMs + env.opts.stepReplyMarginMs) + env.opts.phaseTimeoutMs,
    `pulling ${p.pulls.map((x) => `${x.pos} from ${x.from}`).join(", ")} into ${c}`,
  );
}

export function promotePhase(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const c = p.candidate!;
  // Stopped in the detach phase; RESET SLAVE 'conn' ALL forgets it.
  const first: StepSpec[] = [
    { key: "reset", server: c, step: { kind: "reset-replication", connection: p.connection! } },
  ];
  return phaseOf(
    "promote",
    promoteSteps(c, first, env.ctx.config),
    env.opts.phaseTimeoutMs,
    `promoting ${c}`,
  );
}

export function repointPhase(op: Operation, env: Env): FailoverNext {
  const p = failoverPlanOf(op);
  const c = p.candidate!;
  const semi = env.ctx.config.semiSync;
  const steps: StepSpec[] = [];
  for (const r of p.repoint) {
    const k = (n: string) => `${n}-${r.server}-${r.connection}`;
    steps.push({
      key: k("stop"),
      server: r.server,
      step: { kind: "stop-replication", connection: r.connection },
      bestEffort: true,
    });
    let prev = k("stop");
    if (semi) {
      steps.push({
        key: k("semi"),
        server: r.server,
        step: semiSyncStep(env.ctx.config, replicaSemiSyncSides(env, r.server)),
        after: [prev],
        bestEffort: true,
      });
      prev = k("semi");
    }
    steps.push(
      {
        key: k("change"),
        server: r.server,
        step: { kind: "change-master", connection: r.connection, source: c, useGtid: r.useGtid },
        after: [prev],
        bestEffort: true,
      },
      {
        key: k("start"),
        server: r.server,
        step: { kind: "start-replication", connection: r.connection },
        after: [k("change")],
        bestEffort: true,
      },
      {
        key: k("verify"),
        server: r.server,
        step: {
          kind: "verify-replicating",
          connection: r.connection,
          timeoutMs: env.opts.verifyTimeoutMs,
        },
        after: [k("start")],
        bestEffort: true,
      },
    );
  }
  return phaseOf(
    "repoint",
    steps,
    env.opts.phaseTimeoutMs,
    p.repoint.length
      ? `repointing ${p.repoint.map((r) => r.server).join(", ")} to ${c}`
      : "no replica to repoint",
  );
}
