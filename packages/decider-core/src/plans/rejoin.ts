import {
  contains,
  formatGtidList,
  type GtidList,
  missingFrom,
  parseGtidList,
  positionOf,
  union,
} from "@marina/contracts/gtid";
import { errorBody } from "@marina/contracts/parse";
import { situationEvent } from "../events.js";
import { readInspect } from "../inspect.js";
import { knownWritable } from "../knowledge.js";
import { noteSituation } from "../situations.js";
import type { Operation, RejoinPlan } from "../state.js";
import {
  type Env,
  fenceStep,
  type Next,
  okData,
  type PlanDriver,
  phaseIn,
  phaseOf,
  type StepSpec,
  semiSyncStep,
  semiSyncToReplica,
  unknownPhase,
} from "./common.js";

/** The primary's inspect data says semi-sync master is enabled. */
function semiSyncMasterOn(data: Record<string, unknown> | null): boolean {
  const semi = data?.semiSync;
  return (
    typeof semi === "object" &&
    semi !== null &&
    (semi as { masterEnabled?: unknown }).masterEnabled === true
  );
}

// Rule 4, rejoin: fence → inspect → prepare → attach → [semi-sync]. The server is made
// read-only first (a returning old primary may come back writable; the one fence, see
// fenceStep). It is attached to the primary only when its position —
// positionOf(gtid_binlog_pos ∪ gtid_current_pos) — is contained in the primary's history
// (gtid_binlog_state ∪ gtid_current_pos ∪ gtid_slave_pos). Otherwise it stays fenced and is
// flagged diverged with the extra GTIDs, for a rebuild. With `semiSync`, a primary that
// runs without semi-sync master (a failover that left it without replicas) gets it once
// this replica is verified replicating.

/** The rejoin's phases, in order ("" before the first). */
export const RejoinPhases = ["", "fence", "inspect", "prepare", "attach", "semi-sync"] as const;
export type RejoinPhase = (typeof RejoinPhases)[number];
type RejoinNext = Next<RejoinPhase>;

function plan(op: Operation): RejoinPlan {
  if (op.plan.kind !== "rejoin") throw new Error(`${op.opId} is not a rejoin`);
  return op.plan;
}

const gt = (s: string | null | undefined): GtidList => (s ? parseGtidList(s) : []);

/** The primary's history as far as its variables tell. */
export function historyOf(p: {
  gtidBinlogState?: string | null;
  gtidBinlogPos: string;
  gtidCurrentPos: string;
  gtidSlavePos: string;
}): GtidList {
  return union(
    gt(p.gtidBinlogState),
    gt(p.gtidBinlogPos),
    gt(p.gtidCurrentPos),
    gt(p.gtidSlavePos),
  );
}

/** The returning server's position: the last GTID per domain it has. */
export function rejoinPositionOf(s: { gtidBinlogPos: string; gtidCurrentPos: string }): GtidList {
  return positionOf(union(gt(s.gtidBinlogPos), gt(s.gtidCurrentPos)));
}

export type RejoinCheck =
  | { ok: true; pos: string }
  | { ok: false; diverged: boolean; extra: string; reason: string };

/** Rule 4's test, shared by the diagnosis (on samples) and the plan (on fresh inspections). */
export function checkRejoin(
  server: { gtidBinlogPos: string; gtidCurrentPos: string },
  primaryHistory: GtidList,
): RejoinCheck {
  const pos = rejoinPositionOf(server);
  const extra = missingFrom(primaryHistory, pos);
  if (extra.length > 0) {
    const text = formatGtidList(extra);
    return { ok: false, diverged: true, extra: text, reason: `has ${text} that the primary lacks` };
  }
  if (pos.length === 0 && primaryHistory.length > 0) {
    return {
      ok: false,
      diverged: false,
      extra: "",
      reason:
        "has no GTID position (an empty gtid_slave_pos would replay from the first binlog): rebuild it",
    };
  }
  return { ok: true, pos: formatGtidList(pos) };
}

/** What attaching a server to the primary needs; a rejoin's plan, or a flashback's. */
export interface RejoinTarget {
  server: string;
  primary: string;
  connection: string;
  useGtid: "slave_pos" | "current_pos";
  wasPrimary: boolean;
}

/**
 * Compares the fresh inspections of phase `inspectPhase` (steps `server` and `primary`):
 * the prepare phase when the server is contained in the primary's history, else the check's
 * failure (or null when the inspections are unusable).
 */
export function prepareToAttach(
  op: Operation,
  env: Env,
  p: RejoinTarget,
  inspectPhase: string,
): Next<"prepare"> | { kind: "refused"; check: Extract<RejoinCheck, { ok: false }> } | null {
  const sd = okData(op, inspectPhase, "server");
  const pd = okData(op, inspectPhase, "primary");
  const sv = sd ? readInspect(sd) : null;
  const pv = pd ? readInspect(pd) : null;
  if (!sv || !pv) return null;
  const sampleState = env.state.lastObservation[p.primary]?.observation.gtidBinlogState ?? null;
  const history = historyOf({ ...pv, gtidBinlogState: pv.gtidBinlogState ?? sampleState });
  const check = checkRejoin(sv, history);
  if (!check.ok) return { kind: "refused", check };
  const steps: StepSpec[] = [
    ...semiSyncToReplica(env, p.server, {
      key: "semi",
      after: [],
      bestEffort: false,
      mayWait: p.wasPrimary || semiSyncMasterOn(sd),
    }).steps,
    {
      key: "stop",
      server: p.server,
      step: { kind: "stop-replication", connection: p.connection },
    },
  ];
  // A former primary's gtid_slave_pos is stale or empty; a replica's is normally right.
  if (p.wasPrimary || !contains(gt(sv.gtidSlavePos), gt(check.pos))) {
    steps.push({
      key: "pos",
      server: p.server,
      step: { kind: "set-gtid-slave-pos", pos: check.pos },
      after: ["stop"],
    });
  }
  return phaseOf(
    "prepare",
    steps,
    env.opts.phaseTimeoutMs,
    `${p.server} at ${check.pos} is behind ${p.primary}: attaching`,
  );
}

/** Compares the fresh inspections: attach when contained in the primary's history. */
function comparePhase(op: Operation, env: Env): RejoinNext {
  const p = plan(op);
  const next = prepareToAttach(op, env, p, "inspect");
  if (next === null) {
    return rejoinDriver.fail(
      op,
      env,
      errorBody("INTERNAL", "inspect returned no usable positions"),
    );
  }
  if (next.kind === "refused") {
    if (next.check.diverged) flagDiverged(op, env, next.check);
    return rejoinDriver.fail(
      op,
      env,
      errorBody("NOT_APPLICABLE", `${p.server} ${next.check.reason}`),
    );
  }
  return next;
}

/** The server has transactions the primary lacks: flagged diverged, left read-only. */
function flagDiverged(op: Operation, env: Env, check: Extract<RejoinCheck, { ok: false }>) {
  const p = plan(op);
  const { config, now, epoch } = env.ctx;
  const situation = p.wasPrimary ? "OldPrimaryDiverged" : "ServerDiverged";
  env.state.diverged[p.server] = {
    since: now,
    extraGtids: check.extra,
    reason: check.reason,
    situation,
  };
  delete env.state.exPrimaries[p.server];
  noteSituation(env.state, p.server, situation);
  env.actions.push(
    situationEvent(
      config.name,
      epoch,
      situation,
      p.server,
      `${p.server} ${check.reason}: left read-only for a rebuild`,
      {
        extraGtids: check.extra,
        details: { primary: p.primary },
      },
    ),
  );
}

/** Fresh inspections of the server (`server`) and the primary (`primary`) in `phase`. */
export function inspectBoth<P extends string>(
  env: Env,
  p: { server: string; primary: string },
  phase: P,
  message: string,
): Next<P> {
  return phaseOf(
    phase,
    [
      { key: "server", server: p.server, step: { kind: "inspect" } },
      { key: "primary", server: p.primary, step: { kind: "inspect" } },
    ],
    env.opts.phaseTimeoutMs,
    message,
  );
}

/** CHANGE MASTER to the primary, start, verify. */
export function attachPhase(env: Env, p: RejoinTarget): Next<"attach"> {
  return phaseOf(
    "attach",
    [
      {
        key: "change",
        server: p.server,
        step: {
          kind: "change-master",
          connection: p.connection,
          source: p.primary,
          useGtid: p.useGtid,
        },
      },
      {
        key: "start",
        server: p.server,
        step: { kind: "start-replication", connection: p.connection },
        after: ["change"],
      },
      {
        key: "verify",
        server: p.server,
        step: {
          kind: "verify-replicating",
          connection: p.connection,
          timeoutMs: env.opts.verifyTimeoutMs,
        },
        after: ["start"],
      },
    ],
    env.opts.phaseTimeoutMs,
    `attaching ${p.server} to ${p.primary}`,
  );
}

/**
 * Attached: the server is no former primary any more. The semi-sync phase when the primary
 * runs without semi-sync master (its inspection in `inspectPhase`) and `semiSync` is on;
 * null otherwise.
 */
export function afterAttach(
  op: Operation,
  env: Env,
  p: RejoinTarget,
  inspectPhase: string,
): Next<"semi-sync"> | null {
  const { config } = env.ctx;
  delete env.state.exPrimaries[p.server];
  delete env.state.rejoinFailures[p.server];
  if (config.semiSync && !semiSyncMasterOn(okData(op, inspectPhase, "primary"))) {
    return phaseOf(
      "semi-sync",
      [
        {
          key: "semi",
          server: p.primary,
          step: semiSyncStep(config, { master: true }),
          bestEffort: true,
        },
      ],
      env.opts.phaseTimeoutMs,
      `${p.server} replicates from ${p.primary}: enabling semi-sync master on ${p.primary}`,
    );
  }
  return null;
}

/** The semi-sync phase's outcome, for the final message. */
export function semiSyncNote(op: Operation, p: RejoinTarget): string {
  const ok = okData(op, "semi-sync", "semi") !== null;
  return ok
    ? `; semi-sync master enabled on ${p.primary}`
    : `; semi-sync master NOT enabled on ${p.primary}`;
}

export const rejoinDriver: PlanDriver<RejoinPhase> = {
  next(op, env) {
    const p = plan(op);
    const phase = phaseIn(op, RejoinPhases);
    switch (phase) {
      case "": {
        // Replica readers are not disturbed; a former or writable primary loses its writers.
        const kill = p.wasPrimary || knownWritable(env.state, p.server);
        return phaseOf(
          "fence",
          [fenceStep(env.ctx.config, p.server, kill)],
          env.opts.phaseTimeoutMs,
          `fencing ${p.server}`,
        );
      }
      case "fence":
        return inspectBoth(env, p, "inspect", `comparing ${p.server} with ${p.primary}`);
      case "inspect":
        return comparePhase(op, env);
      case "prepare":
        return attachPhase(env, p);
      case "attach":
        return (
          afterAttach(op, env, p, "inspect") ?? {
            kind: "done",
            message: `${p.server} replicates from ${p.primary}`,
          }
        );
      case "semi-sync":
        return {
          kind: "done",
          message: `${p.server} replicates from ${p.primary}${semiSyncNote(op, p)}`,
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
    if (p.auto) env.state.rejoinFailures[p.server] = env.ctx.now;
    // Nothing to undo: the server stays read-only, which is the safe state.
    return {
      kind: "failed",
      error,
      message: `rejoin of ${p.server} failed, it stays read-only: ${error.message}`,
    };
  },
};
