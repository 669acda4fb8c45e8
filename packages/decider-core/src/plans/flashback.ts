import type { ErrorBody } from "@marina/contracts/commands";
import {
  describeUndo,
  FlashbackOutcome,
  TablesCompared,
  tableText,
} from "@marina/contracts/executor";
import { errorBody } from "@marina/contracts/parse";
import { clearDivergedTags } from "../donors.js";
import { readInspect } from "../inspect.js";
import { currentObservation } from "../knowledge.js";
import { forkPointOf } from "../save-binlogs.js";
import { noteSituation } from "../situations.js";
import type { FlashbackPlan, Operation } from "../state.js";
import {
  type Env,
  fenceStep,
  type Next,
  okData,
  type PlanDriver,
  phaseIn,
  phaseOf,
  type StepSpec,
  stepByKey,
  unknownPhase,
  wasSent,
} from "./common.js";
import {
  afterAttach,
  attachPhase,
  checkRejoin,
  historyOf,
  inspectBoth,
  prepareToAttach,
  semiSyncNote,
} from "./rejoin.js";

// Flashback (issue 17 part 2): fence → inspect → flashback → reinspect → prepare → attach →
// compare → [semi-sync]. The server is fenced and its replication stopped; the fresh
// inspections must still show exactly the divergence the plan undoes; the executor's
// flashback step judges the extra transactions again, applies their reverse without GTIDs
// and resets the GTID state to the fork point (refusing — nothing done — when they cannot
// be undone); then the rejoin's own phases attach it; last, the tables the extra
// transactions touched are compared with the primary's at one GTID. A failure leaves the
// server fenced, not replicating (a "stop" phase when replication was started) and flagged
// diverged with what was done.

export const FlashbackPhases = [
  "",
  "fence",
  "inspect",
  "flashback",
  "reinspect",
  "prepare",
  "attach",
  "compare",
  "semi-sync",
  "stop",
] as const;
export type FlashbackPhase = (typeof FlashbackPhases)[number];
type FlashbackNext = Next<FlashbackPhase>;

function plan(op: Operation): FlashbackPlan {
  if (op.plan.kind !== "flashback") throw new Error(`${op.opId} is not a flashback`);
  return op.plan;
}

/** The flashback step's outcome, once it succeeded. */
export function flashbackOutcome(op: Operation): FlashbackOutcome | null {
  const r = FlashbackOutcome.safeParse(okData(op, "flashback", "flashback"));
  return r.success ? r.data : null;
}

function undoneText(o: FlashbackOutcome, p: FlashbackPlan): string {
  if (o.alreadyDone) return `${p.server} was already at the fork point (${o.binlogPos})`;
  const gtids = o.verdict.transactions.map((t) => t.gtid);
  return `undid ${describeUndo(o.verdict)} on ${p.server}: GTIDs ${gtids.length > 6 ? `${gtids.slice(0, 3).join(",")},…,${gtids.slice(-2).join(",")}` : gtids.join(",")}; gtid_binlog_state ${o.stateBefore} → ${o.stateAfter}; the binlogs and the reverse are in ${o.path} (on ${o.executor})${p.savePath ? `, the save in ${p.savePath}` : ""}`;
}

function fencePhase(env: Env, p: FlashbackPlan): FlashbackNext {
  const obs = currentObservation(env.state, env.ctx.config, p.server, env.ctx.now);
  const steps: StepSpec[] = [fenceStep(env.ctx.config, p.server, true)];
  for (const c of obs?.replication ?? []) {
    steps.push({
      key: `stop-${c.connection}`,
      server: p.server,
      step: { kind: "stop-replication", connection: c.connection },
      after: ["fence"],
    });
  }
  return phaseOf(
    "fence",
    steps,
    env.opts.phaseTimeoutMs,
    `fencing ${p.server} and stopping its replication before its extra transactions ${p.extraGtids} are undone`,
  );
}

/** The fresh inspections must show the divergence the plan was made for. */
function flashbackPhase(op: Operation, env: Env): FlashbackNext {
  const p = plan(op);
  const sd = okData(op, "inspect", "server");
  const pd = okData(op, "inspect", "primary");
  const sv = sd ? readInspect(sd) : null;
  const pv = pd ? readInspect(pd) : null;
  if (!sv || !pv) {
    return flashbackDriver.fail(
      op,
      env,
      errorBody("INTERNAL", "inspect returned no usable positions"),
    );
  }
  const sampleState = env.state.lastObservation[p.primary]?.observation.gtidBinlogState ?? null;
  const history = historyOf({ ...pv, gtidBinlogState: pv.gtidBinlogState ?? sampleState });
  const check = checkRejoin(sv, history);
  // Contained already: a flashback done before (its answer lost); the step says so.
  if (!check.ok && check.extra !== p.extraGtids) {
    return flashbackDriver.fail(
      op,
      env,
      errorBody(
        "REFUSED",
        `${p.server} ${check.reason}, not the ${p.extraGtids} this flashback undoes: nothing done`,
      ),
    );
  }
  p.forkPoint = forkPointOf(p.extraGtids, history);
  const timeoutMs = env.ctx.config.saveBinlogs?.timeoutMs ?? 300_000;
  return phaseOf(
    "flashback",
    [
      {
        key: "flashback",
        server: p.server,
        step: { kind: "flashback", extraGtids: p.extraGtids, forkPoint: p.forkPoint, timeoutMs },
      },
    ],
    null,
    `undoing ${p.extraGtids} on ${p.server} (after the fork point ${p.forkPoint || "-"})`,
  );
}

/** The flashback succeeded: no longer diverged; a former primary until it is attached. */
function flashedBack(op: Operation, env: Env): FlashbackNext {
  const p = plan(op);
  const o = flashbackOutcome(op);
  if (!o)
    return flashbackDriver.fail(op, env, errorBody("INTERNAL", "flashback returned no outcome"));
  const { state, ctx } = env;
  delete state.diverged[p.server];
  clearDivergedTags(state, p.server);
  state.exPrimaries[p.server] = { since: ctx.now, opId: op.opId, reason: "flashed back" };
  if (o.verdict.tables.length > 0) p.tables = o.verdict.tables;
  return inspectBoth(env, p, "reinspect", `${undoneText(o, p)}; rejoining ${p.primary}`);
}

function comparePhase(env: Env, p: FlashbackPlan): FlashbackNext {
  return phaseOf(
    "compare",
    [
      {
        key: "compare",
        server: p.server,
        step: {
          kind: "compare-tables",
          source: p.primary,
          connection: p.connection,
          tables: p.tables,
          timeoutMs: env.opts.verifyTimeoutMs * 4,
        },
      },
    ],
    env.opts.phaseTimeoutMs,
    `comparing ${p.tables.map(tableText).join(", ")} of ${p.server} with ${p.primary} at one GTID`,
  );
}

function doneMessage(op: Operation, p: FlashbackPlan): string {
  const o = flashbackOutcome(op);
  const parsed = TablesCompared.safeParse(okData(op, "compare", "compare"));
  const cmp = parsed.success ? parsed.data : null;
  const compared = cmp
    ? `; ${cmp.tables.map((t) => `${t.schema}.${t.table}`).join(", ")} equal to ${p.primary}'s at ${cmp.gtid} (CHECKSUM TABLE)`
    : "; no table to compare";
  return `${o ? undoneText(o, p) : `${p.server} flashed back`}; ${p.server} replicates from ${p.primary}${compared}`;
}

function afterCompare(op: Operation, env: Env, p: FlashbackPlan): FlashbackNext {
  return (
    afterAttach(op, env, p, "reinspect") ?? {
      kind: "done",
      message: doneMessage(op, p),
    }
  );
}

export const flashbackDriver: PlanDriver<FlashbackPhase> = {
  next(op, env) {
    const p = plan(op);
    const phase = phaseIn(op, FlashbackPhases);
    switch (phase) {
      case "":
        return fencePhase(env, p);
      case "fence":
        return inspectBoth(env, p, "inspect", `comparing ${p.server} with ${p.primary}`);
      case "inspect":
        return flashbackPhase(op, env);
      case "flashback":
        return flashedBack(op, env);
      case "reinspect": {
        const next = prepareToAttach(op, env, p, "reinspect");
        if (next === null || next.kind === "refused") {
          const why = next === null ? "inspect returned no usable positions" : next.check.reason;
          return flashbackDriver.fail(op, env, errorBody("NOT_APPLICABLE", `${p.server} ${why}`));
        }
        return next;
      }
      case "prepare":
        return attachPhase(env, p);
      case "attach":
        return p.tables.length > 0 ? comparePhase(env, p) : afterCompare(op, env, p);
      case "compare":
        return afterCompare(op, env, p);
      case "semi-sync":
        return { kind: "done", message: `${doneMessage(op, p)}${semiSyncNote(op, p)}` };
      case "stop":
        return failed(op, env, op.error ?? errorBody("INTERNAL", "flashback failed"));
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
    if (op.status === "undoing") return failed(op, env, op.error ?? error);
    // Replication started (or compared): stopped again, so the server is left not replicating.
    const started = wasSent(
      op,
      p.server,
      (s) => s.kind === "start-replication" || s.kind === "compare-tables",
    );
    if (started) {
      op.status = "undoing";
      op.error = error;
      return phaseOf(
        "stop",
        [
          {
            key: "stop",
            server: p.server,
            step: { kind: "stop-replication", connection: p.connection },
            bestEffort: true,
          },
        ],
        env.opts.phaseTimeoutMs,
        `flashback of ${p.server} failed (${error.message}); stopping its replication`,
      );
    }
    return failed(op, env, error);
  },
};

/** What was done, in words, for the flag and the final message. */
function doneSoFar(op: Operation, p: FlashbackPlan): string {
  const o = flashbackOutcome(op);
  if (o) return `${undoneText(o, p)}, but it was not rejoined`;
  const step = stepByKey(op, "flashback", "flashback");
  if (!step || step.attempts === 0) return "nothing was changed on it";
  const data = step.result?.data ?? {};
  const stage = typeof data.stage === "string" ? data.stage : "unknown";
  const where = typeof data.path === "string" ? ` (binlogs and reverse in ${data.path})` : "";
  // Before "apply" nothing was changed on the server (dump, judge, privileges, reverse).
  const touched = stage === "apply" || stage === "gtid-state" || stage === "unknown";
  return touched
    ? `the flashback stopped at ${stage}${where}: its data may be partly undone`
    : `the flashback stopped at ${stage} before changing anything${where}`;
}

/** Flagged diverged again with what was done; the server stays fenced. */
function failed(op: Operation, env: Env, error: ErrorBody): FlashbackNext {
  const p = plan(op);
  const { state, ctx } = env;
  const what = doneSoFar(op, p);
  const situation = p.wasPrimary ? "OldPrimaryDiverged" : "ServerDiverged";
  delete state.exPrimaries[p.server];
  state.diverged[p.server] = {
    since: state.diverged[p.server]?.since ?? ctx.now,
    extraGtids: p.extraGtids,
    reason: `flashback failed (${error.message}); ${what}`.slice(0, 2000),
    situation,
  };
  noteSituation(state, p.server, situation);
  state.flashbackFailures ??= {};
  state.flashbackFailures[p.server] = { at: ctx.now, extraGtids: p.extraGtids, opId: op.opId };
  return {
    kind: "failed",
    error,
    message: `flashback of ${p.server} failed, it stays read-only and flagged diverged: ${error.message}; ${what}`,
  };
}
