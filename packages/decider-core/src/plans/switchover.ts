import { strictDurability } from "@marina/contracts/config";
import { formatGtidList, parseGtidList, positionOf } from "@marina/contracts/gtid";
import { errorBody } from "@marina/contracts/parse";
import { readInspect } from "../inspect.js";
import { connectionsTo, currentObservation } from "../knowledge.js";
import type { Operation, SwitchoverPlan } from "../state.js";
import {
  type Env,
  FENCE,
  failedLanes,
  fenceStep,
  type Next,
  okData,
  type PlanDriver,
  phaseIn,
  phaseOf,
  promoteSteps,
  type StepSpec,
  semiSyncStep,
  semiSyncToReplica,
  stepsOf,
  unknownPhase,
} from "./common.js";
import { PRE_HOOK_PHASE, preHookPhase, preHookVerdict, vetoedEnd, vetoWarning } from "./hooks.js";
import { undoSteps } from "./switchover-undo.js";

// Rule 6, switchover: [pre-hook] → demote → read-pos → catch-up → promote → repoint → [semi-sync].
// The old primary is made read-only (and its clients killed) BEFORE the target becomes
// writable; the target must apply the old primary's final gtid_binlog_pos within the
// per-phase timeout. Any failure before promotion undoes: the target is re-attached and the
// old primary made writable again, so a lagging target fails cleanly.
// The demotion is the one fence (fenceStep): read_only=1, clients killed while it waits for
// the commits in flight (acknowledged by the replicas as usual), then semi-sync master off.
// Nothing is lost by it: the target waits for the final position before it is promoted. The undo turns it back on where it was on. Semi-sync
// master is enabled on the new primary only once a replica was verified replicating from it.

/** The switchover's phases, in order ("" before the first). */
export const SwitchoverPhases = [
  "",
  "pre-hook",
  "demote",
  "read-pos",
  "catch-up",
  "promote",
  "repoint",
  "semi-sync",
  "undo",
] as const;
export type SwitchoverPhase = (typeof SwitchoverPhases)[number];
type SwitchoverNext = Next<SwitchoverPhase>;

function plan(op: Operation): SwitchoverPlan {
  if (op.plan.kind !== "switchover") throw new Error(`${op.opId} is not a switchover`);
  return op.plan;
}

function phaseDeadline(p: SwitchoverPlan, env: Env): number {
  return p.timeoutMs + env.opts.stepReplyMarginMs;
}

function adoptTarget(op: Operation, env: Env) {
  const p = plan(op);
  if (env.state.primary === p.target) return;
  env.state.primary = p.target;
  env.state.exPrimaries[p.old] = {
    since: env.ctx.now,
    opId: op.opId,
    reason: `demoted by switchover to ${p.target}; being repointed`,
  };
}

interface Lane {
  server: string;
  connection: string;
  useGtid: "slave_pos" | "current_pos";
  /** gtid_slave_pos to set first (the old primary's own binlog position), or none. */
  setPos: string | null;
  /** Stop the connection first (a replica; the demoted old primary replicates from nobody). */
  stop: boolean;
}

/** One server's connection repointed to the target, verified replicating (best effort). */
function repointLane(env: Env, target: string, lane: Lane): StepSpec[] {
  const { server, connection, useGtid, setPos, stop } = lane;
  const k = (n: string) => `${n}-${server}-${connection}`;
  const steps: StepSpec[] = [];
  if (stop)
    steps.push({
      key: k("stop"),
      server,
      step: { kind: "stop-replication", connection },
      bestEffort: true,
    });
  const semi = semiSyncToReplica(env, server, {
    key: k("semi"),
    after: stop ? [k("stop")] : [],
    bestEffort: true,
    // The demoted old primary (the lane that stops nothing): fenced with semi-sync kept.
    mayWait: !stop,
  });
  steps.push(...semi.steps);
  let prev = semi.last;
  if (setPos !== null) {
    steps.push({
      key: k("pos"),
      server,
      step: { kind: "set-gtid-slave-pos", pos: setPos },
      after: [prev],
      bestEffort: true,
    });
    prev = k("pos");
  }
  steps.push(
    {
      key: k("change"),
      server,
      step: { kind: "change-master", connection, source: target, useGtid },
      after: [prev],
      bestEffort: true,
    },
    {
      key: k("start"),
      server,
      step: { kind: "start-replication", connection },
      after: [k("change")],
      bestEffort: true,
    },
    {
      key: k("verify"),
      server,
      step: { kind: "verify-replicating", connection, timeoutMs: env.opts.verifyTimeoutMs },
      after: [k("start")],
      bestEffort: true,
    },
  );
  return steps;
}

function repointPhase(op: Operation, env: Env): SwitchoverNext {
  const p = plan(op);
  const { config, now } = env.ctx;
  // The old primary: its slave position is its own binlog position (LAB.md: an empty or
  // stale gtid_slave_pos breaks replication).
  const steps = repointLane(env, p.target, {
    server: p.old,
    connection: "",
    useGtid: "slave_pos",
    setPos: p.finalPos ?? "",
    stop: false,
  });
  p.repoint = [];
  for (const s of config.servers) {
    if (s.name === p.old || s.name === p.target || env.state.maintenance[s.name]) continue;
    const obs = currentObservation(env.state, config, s.name, now);
    if (!obs) continue;
    for (const c of connectionsTo(config, obs, p.old)) {
      const useGtid = c.usingGtid === "Current_Pos" ? "current_pos" : "slave_pos";
      p.repoint.push({ server: s.name, connection: c.connection, useGtid });
      steps.push(
        ...repointLane(env, p.target, {
          server: s.name,
          connection: c.connection,
          useGtid,
          setPos: null,
          stop: true,
        }),
      );
    }
  }
  return phaseOf(
    "repoint",
    steps,
    env.opts.phaseTimeoutMs,
    `repointing ${[p.old, ...p.repoint.map((r) => r.server)].join(", ")} to ${p.target}`,
  );
}

/** Servers verified replicating from the target by the repoint. */
function verifiedLanes(op: Operation): string[] {
  return stepsOf(op, "repoint")
    .filter((s) => s.step.kind === "verify-replicating" && s.status === "ok")
    .map((s) => s.server);
}

function finish(op: Operation, env: Env): SwitchoverNext {
  const p = plan(op);
  const failed = failedLanes(op, "repoint");
  const oldOk = stepsOf(op, "repoint").some(
    (s) => s.server === p.old && s.step.kind === "verify-replicating" && s.status === "ok",
  );
  if (oldOk) delete env.state.exPrimaries[p.old];
  const semiOff = strictDurability(env.ctx.config)
    ? "; semi-sync master on (strict) since the promotion"
    : env.ctx.config.semiSync && verifiedLanes(op).length === 0
      ? `; semi-sync master left off on ${p.target} (no replica replicates from it yet; enabled when one rejoins)`
      : "";
  const warning = vetoWarning(op);
  const message = `${p.target} is the primary; ${p.old} ${oldOk ? "replicates from it" : "NOT repointed (fenced; rejoin pending)"}${
    failed.length ? `; failed: ${failed.join("; ")}` : ""
  }${semiOff}${warning ? `; ${warning}` : ""}`;
  if (failed.length) {
    const first = stepsOf(op, "repoint").find((s) => s.status === "failed")?.result?.error;
    return { kind: "failed", error: errorBody(first?.code ?? "SQL_ERROR", message), message };
  }
  return { kind: "done", message };
}

/** Nothing was changed yet: a veto ends the switchover here (unless forced). */
function afterPreHooks(op: Operation, env: Env): SwitchoverNext {
  const v = preHookVerdict(op);
  return v.blocked && !plan(op).force ? vetoedEnd("switchover", v) : demotePhase(op, env);
}

/** The one fence on the old primary (clients killed, privileged ones only with force). */
function demotePhase(op: Operation, env: Env): SwitchoverNext {
  const p = plan(op);
  return phaseOf(
    "demote",
    [
      fenceStep(env.ctx.config, p.old, true, p.force),
      {
        key: "stable",
        server: p.old,
        step: {
          kind: "wait-binlog-stable",
          stableMs: env.opts.binlogStableMs,
          timeoutMs: p.timeoutMs,
        },
        after: [FENCE],
      },
    ],
    phaseDeadline(p, env),
    `demoting ${p.old}`,
  );
}

/** The target waits for the old primary's final position. */
function catchUpPhase(op: Operation, env: Env): SwitchoverNext {
  const p = plan(op);
  const data = okData(op, "read-pos", "inspect");
  const view = data ? readInspect(data) : null;
  if (!view) {
    return switchoverDriver.fail(
      op,
      env,
      errorBody("INTERNAL", `inspect of ${p.old} returned no usable positions`),
    );
  }
  p.finalPos = formatGtidList(positionOf(parseGtidList(view.gtidBinlogPos)));
  return phaseOf(
    "catch-up",
    [
      {
        key: "wait",
        server: p.target,
        step: { kind: "wait-gtid", pos: p.finalPos, timeoutMs: p.timeoutMs },
      },
    ],
    phaseDeadline(p, env),
    `waiting for ${p.target} to apply ${p.finalPos || "(empty)"}`,
  );
}

function promotePhase(op: Operation, env: Env): SwitchoverNext {
  const p = plan(op);
  const first: StepSpec[] = [
    {
      key: "stop",
      server: p.target,
      step: { kind: "stop-replication", connection: p.connection },
    },
    {
      key: "reset",
      server: p.target,
      step: { kind: "reset-replication", connection: p.connection },
      after: ["stop"],
    },
  ];
  const steps = promoteSteps(p.target, first, env.ctx.config);
  return phaseOf("promote", steps, phaseDeadline(p, env), `promoting ${p.target}`);
}

export const switchoverDriver: PlanDriver<SwitchoverPhase> = {
  next(op, env) {
    const p = plan(op);
    const phase = phaseIn(op, SwitchoverPhases);
    switch (phase) {
      case "": {
        const pre = preHookPhase(env, PRE_HOOK_PHASE, {
          operation: "switchover",
          automatic: false,
          forced: p.force,
          old: p.old,
          new: p.target,
          reason: op.reason,
        });
        return pre ?? demotePhase(op, env);
      }
      case "pre-hook":
        return afterPreHooks(op, env);
      case "demote":
        return phaseOf(
          "read-pos",
          [{ key: "inspect", server: p.old, step: { kind: "inspect" } }],
          phaseDeadline(p, env),
          `reading the final position of ${p.old}`,
        );
      case "read-pos":
        return catchUpPhase(op, env);
      case "catch-up":
        return promotePhase(op, env);
      case "promote":
        adoptTarget(op, env);
        return repointPhase(op, env);
      case "repoint":
        // Strict durability turned it on at the promotion already.
        if (
          env.ctx.config.semiSync &&
          !strictDurability(env.ctx.config) &&
          verifiedLanes(op).length > 0
        ) {
          return phaseOf(
            "semi-sync",
            [
              {
                key: "semi",
                server: p.target,
                step: semiSyncStep(env.ctx.config, { master: true }),
              },
            ],
            env.opts.phaseTimeoutMs,
            `enabling semi-sync master on ${p.target}`,
          );
        }
        return finish(op, env);
      case "semi-sync":
        return finish(op, env);
      case "undo":
        return {
          kind: "failed",
          error: op.error ?? errorBody("INTERNAL", "switchover undone"),
          message: `switchover undone, ${p.old} is writable again: ${op.error?.message ?? ""}`,
        };
      case null:
        return unknownPhase(op);
      default: {
        const never: never = phase;
        return never;
      }
    }
  },

  fail(op, env, error) {
    const p = plan(op);
    // The pre phase ran out of time: the steps left unanswered count as a no (obeyed unless
    // forced). Nothing was changed to undo.
    if (op.phase === PRE_HOOK_PHASE && error.code !== "CANCELLED") return afterPreHooks(op, env);
    if (op.status === "undoing") {
      return {
        kind: "failed",
        error: op.error ?? error,
        message: `switchover failed (${op.error?.message}); undo incomplete, check ${p.old} and ${p.target}: ${error.message}`,
      };
    }
    if (op.promoted) {
      adoptTarget(op, env);
      return {
        kind: "failed",
        error,
        message: `${p.target} was promoted but the switchover did not finish: ${error.message}`,
      };
    }
    const undo = undoSteps(op, p);
    if (undo.length === 0) {
      return {
        kind: "failed",
        error,
        message: `switchover failed before any change: ${error.message}`,
      };
    }
    op.status = "undoing";
    op.error = error;
    return phaseOf(
      "undo",
      undo,
      env.opts.phaseTimeoutMs,
      `switchover failed before promotion (${error.message}); undoing`,
    );
  },
};
