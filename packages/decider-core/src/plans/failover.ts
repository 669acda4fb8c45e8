import type { ErrorBody } from "@marina/contracts/commands";
import { errorBody } from "@marina/contracts/parse";
import { chooseCandidate, type ObservationLike } from "../candidates.js";
import { situationEvent } from "../events.js";
import { readInspect } from "../inspect.js";
import { connectionsTo, currentObservation, reachability } from "../knowledge.js";
import type { FailoverPlan, Operation } from "../state.js";
import {
  type Env,
  FENCE,
  failedLanes,
  fenceStep,
  makesReadOnly,
  type Next,
  type PlanDriver,
  phaseOf,
  type StepSpec,
  semiSyncWasOn,
  stepByKey,
  stepsOf,
  wasSent,
} from "./common.js";

// Rule 3, failover: [fence] → inspect → drain → detach → [pull] → promote → repoint →
// [semi-sync]. The failed primary is fenced first only when it is reachable (a forced
// failover; the one fence, see fenceStep). The candidate is chosen
// again from FRESH inspections; it drains its relay log and pulls what a more advanced live
// replica has. Every live replica's connection to the failed primary — the candidate's and
// the others' — is stopped in ONE parallel phase (detach): on a frozen primary with
// semi-sync, each STOP SLAVE costs a fixed ~2 s (the semi-sync replica tries to reach the
// primary to end its dump thread), paid once this way instead of once per replica in turn.
// Only the connection to the failed primary is touched (a multi-source replica keeps the
// others). The candidate then drops that connection and turns read_only off, and every
// other replica is repointed. Semi-sync master is enabled last, and only when a replica
// was verified replicating from the new primary (LAB.md: with none it stalls the first
// commit for rpl_semi_sync_master_timeout); otherwise the first rejoin enables it.
//
// Drain before detach: STOP SLAVE stops the SQL thread as well, and a stopped SQL thread
// never drains, so the candidate (and each pull source) first applies what its IO thread
// had received, then stops. Nothing more can arrive from a dead primary in between; even a
// primary that was only frozen gets no chance to hand the others events the candidate
// lacks, since they are stopped in the same phase, before the promotion (earlier than the
// repoint that used to stop them).

/** The candidate's temporary connection for pulling from a more advanced replica. */
export const PULL_CONNECTION = "marina_pull";

function plan(op: Operation): FailoverPlan {
  if (op.plan.kind !== "failover") throw new Error(`${op.opId} is not a failover`);
  return op.plan;
}

function useGtidOf(usingGtid: string): "slave_pos" | "current_pos" {
  return usingGtid === "Current_Pos" ? "current_pos" : "slave_pos";
}

function inspectPhase(op: Operation, env: Env): Next {
  const p = plan(op);
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

/**
 * Fresh inspections; where one failed but a monitor still reaches the server, its latest
 * sample stands in: a live replica must never drop out of the choice (and take the
 * transactions only it received with it) because one read failed.
 */
function views(op: Operation, env: Env): Record<string, ObservationLike | null> {
  const { config, now } = env.ctx;
  const out: Record<string, ObservationLike | null> = {};
  for (const s of stepsOf(op, "inspect")) {
    const fresh = s.status === "ok" && s.result ? readInspect(s.result.data) : null;
    out[s.server] = fresh ?? currentObservation(env.state, config, s.server, now);
  }
  return out;
}

function choose(op: Operation, env: Env): Next {
  const p = plan(op);
  const { config } = env.ctx;
  const live = views(op, env);
  const choice = chooseCandidate({
    config,
    primary: p.failed,
    servers: live,
    maintenance: Object.keys(env.state.maintenance),
    diverged: Object.keys(env.state.diverged),
    lastLag: env.state.lastLag,
    target: p.target,
    mode: "failover",
  });
  if (!choice.ok) {
    env.actions.push(
      situationEvent(config.name, env.ctx.epoch, "PrimaryDeadNoCandidate", p.failed, choice.reason),
    );
    return failWith(op, env, errorBody(choice.code, choice.reason));
  }
  p.candidate = choice.candidate;
  p.connection = choice.connection;
  p.pulls = choice.pulls;
  op.servers.candidate = choice.candidate;
  for (const s of config.servers) {
    if (s.name === p.failed || s.name === p.candidate) continue;
    const v = live[s.name];
    if (!v) {
      if (s.name in live) p.skipped.push({ server: s.name, why: "inspect failed" });
      continue;
    }
    for (const c of connectionsTo(config, v, p.failed)) {
      if (env.state.maintenance[s.name]) {
        p.skipped.push({ server: s.name, why: "in maintenance" });
        continue;
      }
      p.repoint.push({ server: s.name, connection: c.connection, useGtid: useGtidOf(c.usingGtid) });
    }
  }
  const f = config.failover;
  const steps: StepSpec[] = [
    {
      key: "drain",
      server: choice.candidate,
      step: { kind: "drain-relay-log", connection: choice.connection, timeoutMs: f.drainTimeoutMs },
    },
    // A pull source must have applied (and so binlogged) what it received.
    ...choice.pulls.map((x) => ({
      key: `drain-${x.from}`,
      server: x.from,
      step: {
        kind: "drain-relay-log" as const,
        connection: x.connection,
        timeoutMs: f.drainTimeoutMs,
      },
    })),
  ];
  return phaseOf(
    "drain",
    steps,
    f.drainTimeoutMs + env.opts.stepReplyMarginMs,
    `candidate ${choice.reason}`,
  );
}

/** Key of the detach step of a replica's connection to the failed primary. */
function detachKey(server: string, connection: string): string {
  return `detach-${server}-${connection}`;
}

/**
 * Stops every live replica's connection to the failed primary at once: the candidate's
 * (it must succeed: its relay log is drained, and nothing may apply alongside a pull) and
 * every replica to repoint (best effort: the repoint stops it again).
 */
function detachPhase(op: Operation, env: Env): Next {
  const p = plan(op);
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

function pullPhase(op: Operation, env: Env): Next {
  const p = plan(op);
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

function promotePhase(op: Operation, env: Env): Next {
  const p = plan(op);
  const c = p.candidate!;
  const conn = p.connection!;
  // Stopped in the detach phase; RESET SLAVE 'conn' ALL forgets it.
  const steps: StepSpec[] = [
    { key: "reset", server: c, step: { kind: "reset-replication", connection: conn } },
  ];
  let last = "reset";
  if (env.ctx.config.semiSync) {
    steps.push({
      key: "semi",
      server: c,
      step: { kind: "set-semi-sync", slave: false },
      after: [last],
    });
    last = "semi";
  }
  steps.push({
    key: "writable",
    server: c,
    step: { kind: "set-read-only", readOnly: false },
    after: [last],
    promotes: true,
  });
  return phaseOf("promote", steps, env.opts.phaseTimeoutMs, `promoting ${c}`);
}

/** The candidate is the primary from here on, whatever happens next. */
function adoptCandidate(op: Operation, env: Env) {
  const p = plan(op);
  const c = p.candidate!;
  if (env.state.primary === c) return;
  env.state.primary = c;
  env.state.exPrimaries[p.failed] = {
    since: env.ctx.now,
    opId: op.opId,
    reason: `failed over to ${c}; rejoined only when proven to be behind ${c}`,
  };
}

function repointPhase(op: Operation, env: Env): Next {
  const p = plan(op);
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
        step: { kind: "set-semi-sync", master: false, slave: true },
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

/** Replicas verified replicating from the new primary by the repoint. */
function verifiedReplicas(op: Operation): string[] {
  const p = plan(op);
  return p.repoint
    .filter((r) =>
      stepsOf(op, "repoint").some(
        (s) =>
          s.server === r.server &&
          s.step.kind === "verify-replicating" &&
          s.step.connection === r.connection &&
          s.status === "ok",
      ),
    )
    .map((r) => r.server);
}

function finalMessage(op: Operation, env: Env): { failed: string[]; message: string } {
  const p = plan(op);
  const failed = failedLanes(op, "repoint");
  const skipped = p.skipped.map((s) => `${s.server} (${s.why})`);
  const repointed = verifiedReplicas(op);
  const parts = [
    `${p.candidate} promoted in place of ${p.failed}`,
    `repointed: ${repointed.join(", ") || "none"}`,
  ];
  if (env.ctx.config.semiSync && repointed.length === 0) {
    parts.push(
      `semi-sync master left off on ${p.candidate} (no replica replicates from it yet; enabled when one rejoins)`,
    );
  }
  if (failed.length) parts.push(`NOT repointed: ${failed.join("; ")}`);
  if (skipped.length) parts.push(`left alone: ${skipped.join(", ")}`);
  return { failed, message: parts.join("; ") };
}

function failWith(op: Operation, env: Env, error: ErrorBody): Next {
  return failoverDriver.fail(op, env, error);
}

export const failoverDriver: PlanDriver = {
  next(op, env) {
    const p = plan(op);
    switch (op.phase) {
      case "":
        if (p.fenceOld) {
          return phaseOf(
            "fence",
            [fenceStep(p.failed, true)],
            env.opts.phaseTimeoutMs,
            `fencing ${p.failed} (reachable, failover forced)`,
          );
        }
        return inspectPhase(op, env);
      case "fence":
        return inspectPhase(op, env);
      case "inspect":
        return choose(op, env);
      case "drain":
        return detachPhase(op, env);
      case "detach":
        return p.pulls.length ? pullPhase(op, env) : promotePhase(op, env);
      case "pull":
        return promotePhase(op, env);
      case "promote":
        adoptCandidate(op, env);
        return repointPhase(op, env);
      case "repoint": {
        // Not without a replica: the first commit would wait rpl_semi_sync_master_timeout.
        if (env.ctx.config.semiSync && verifiedReplicas(op).length > 0) {
          return phaseOf(
            "semi-sync",
            [{ key: "semi", server: p.candidate!, step: { kind: "set-semi-sync", master: true } }],
            env.opts.phaseTimeoutMs,
            `enabling semi-sync master on ${p.candidate}`,
          );
        }
        return done(op, env);
      }
      case "semi-sync":
        return done(op, env);
      case "undo":
        return {
          kind: "failed",
          error: op.error ?? errorBody("INTERNAL", "failover undone"),
          message: `failover undone: ${op.error?.message ?? ""}`,
        };
      default:
        return {
          kind: "failed",
          error: errorBody("INTERNAL", `unknown phase ${op.phase}`),
          message: "",
        };
    }
  },

  fail(op, env, error) {
    const p = plan(op);
    if (op.status === "undoing") {
      return {
        kind: "failed",
        error: op.error ?? error,
        message: `failover failed (${op.error?.message}); undo incomplete: ${error.message}`,
      };
    }
    if (op.promoted) {
      // Never undo after promotion: two writable primaries are worse than a half-done one.
      adoptCandidate(op, env);
      return {
        kind: "failed",
        error,
        message: `${p.candidate} was promoted but the failover did not finish: ${error.message}`,
      };
    }
    const undo: StepSpec[] = [];
    const c = p.candidate;
    if (c !== null && p.connection !== null) {
      const conn = p.connection;
      const pulled = wasSent(
        op,
        c,
        (s) => s.kind === "change-master" && s.connection === PULL_CONNECTION,
      );
      if (pulled) {
        undo.push(
          {
            key: "pull-stop",
            server: c,
            step: { kind: "stop-replication", connection: PULL_CONNECTION },
            bestEffort: true,
          },
          {
            key: "pull-reset",
            server: c,
            step: { kind: "reset-replication", connection: PULL_CONNECTION },
            after: ["pull-stop"],
            bestEffort: true,
          },
        );
      }
      const reset = wasSent(op, c, (s) => s.kind === "reset-replication" && s.connection === conn);
      const stopped = wasSent(op, c, (s) => s.kind === "stop-replication" && s.connection === conn);
      if (reset) {
        undo.push({
          key: "reattach",
          server: c,
          step: { kind: "change-master", connection: conn, source: p.failed, useGtid: "slave_pos" },
          after: pulled ? ["pull-reset"] : [],
          bestEffort: true,
        });
      }
      if (reset || stopped) {
        undo.push({
          key: "restart",
          server: c,
          step: { kind: "start-replication", connection: conn },
          after: reset ? ["reattach"] : pulled ? ["pull-reset"] : [],
          bestEffort: true,
        });
      }
    }
    // Replicas stopped by the detach phase replicate from the old primary again.
    for (const r of p.repoint) {
      const stopped = stepByKey(op, "detach", detachKey(r.server, r.connection));
      if (!stopped || stopped.attempts === 0) continue;
      undo.push({
        key: `restart-${r.server}-${r.connection}`,
        server: r.server,
        step: { kind: "start-replication", connection: r.connection },
        bestEffort: true,
      });
    }
    if (p.fenceOld && wasSent(op, p.failed, makesReadOnly)) {
      undo.push({
        key: "unfence",
        server: p.failed,
        step: { kind: "set-read-only", readOnly: false },
      });
      // Semi-sync master back on where the fence turned it off.
      if (semiSyncWasOn(op, "fence", FENCE)) {
        undo.push({
          key: "unfence-semi",
          server: p.failed,
          step: { kind: "set-semi-sync", master: true },
          after: ["unfence"],
          bestEffort: true,
        });
      }
    }
    if (undo.length === 0) {
      return {
        kind: "failed",
        error,
        message: `failover failed before promotion: ${error.message}`,
      };
    }
    op.status = "undoing";
    op.error = error;
    return phaseOf(
      "undo",
      undo,
      env.opts.phaseTimeoutMs,
      `failover failed before promotion (${error.message}); undoing`,
    );
  },
};

function done(op: Operation, env: Env): Next {
  const { failed, message } = finalMessage(op, env);
  if (failed.length) {
    const first = stepsOf(op, "repoint").find((s) => s.status === "failed")?.result?.error;
    return { kind: "failed", error: errorBody(first?.code ?? "SQL_ERROR", message), message };
  }
  return { kind: "done", message };
}
