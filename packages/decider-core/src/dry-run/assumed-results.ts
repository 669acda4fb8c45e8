import type { AgentCall, DeciderState, OpStep } from "../state.js";

// The results a dry-run feeds the plan to build its later phases: every step and agent call
// succeeds, and what they read is what the servers' last samples showed. Each result a phase
// is built on is said in words (`assumption`), so the report can mark the phases that
// depend on it.

export interface Assumed {
  data: Record<string, unknown>;
  /** What the plan will read from it that is not known yet; null when it reads nothing. */
  assumption: string | null;
}

/** A stand-in for the port a receiving agent picks at run time. */
export const ASSUMED_PORT = 4444;

export function assumedStepResult(state: DeciderState, s: OpStep): Assumed {
  const obs = state.lastObservation[s.server]?.observation ?? null;
  switch (s.step.kind) {
    case "inspect": {
      if (!obs) return { data: {}, assumption: `inspect of ${s.server}: nothing known of it` };
      // What a step of this operation set since the sample (a fence) shows in the inspection.
      const ro = state.readOnly[s.server];
      const seen = state.lastObservation[s.server]?.at ?? 0;
      const readOnly = ro && ro.by === "step" && ro.at >= seen ? ro.readOnly : obs.readOnly;
      // After a flashback of this operation: at the fork point it was brought back to.
      const fb = state.operation?.steps.find(
        (x) => x.server === s.server && x.step.kind === "flashback" && x.status === "ok",
      );
      const pos = fb ? String(fb.result?.data.binlogPos ?? "") : null;
      if (pos !== null) {
        return {
          data: { ...obs, readOnly, gtidBinlogPos: pos, gtidCurrentPos: pos, gtidBinlogState: pos },
          assumption: `inspect of ${s.server} (${s.phase}) finds it at the fork point ${pos || "(empty)"} after the flashback`,
        };
      }
      return {
        data: { ...obs, readOnly },
        assumption: `inspect of ${s.server} (${s.phase}) reads what its last sample showed: gtid_binlog_pos ${obs.gtidBinlogPos || "empty"}, gtid_current_pos ${obs.gtidCurrentPos || "empty"}`,
      };
    }
    case "fence":
      return {
        data: {
          readOnly: true,
          previous: {
            readOnly: obs?.readOnly ?? false,
            master: obs?.semiSync.masterEnabled ?? false,
          },
          changed: true,
          killed: [],
          killRounds: 0,
        },
        assumption: null,
      };
    case "flashback": {
      const verdict = state.binlogSaves?.[s.server]?.undo ?? {
        undoable: true,
        reason: "",
        transactions: [],
        count: 0,
        tables: [],
        rows: { insert: 0, update: 0, delete: 0 },
      };
      return {
        data: {
          path: "<a new folder in saveBinlogs.dir>",
          alreadyDone: false,
          verdict,
          stateBefore: obs?.gtidBinlogState ?? "",
          stateAfter: s.step.forkPoint,
          binlogPos: s.step.forkPoint,
          executor: "<an executor>",
        },
        assumption: `the flashback of ${s.server} undoes what its save judged (${verdict.count} transaction(s)) and leaves it at the fork point ${s.step.forkPoint || "(empty)"}`,
      };
    }
    case "compare-tables": {
      const gtid = state.lastObservation[s.step.source]?.observation.gtidBinlogPos ?? "";
      return {
        data: {
          gtid,
          tables: s.step.tables.map((t) => ({ ...t, server: "0", source: "0", equal: true })),
          equal: true,
        },
        assumption: `the tables of ${s.server} equal ${s.step.source}'s at one GTID`,
      };
    }
    default:
      return { data: {}, assumption: null };
  }
}

/**
 * An agent's answer: a long call's early reply ("running", where a receiver listens), or
 * its final result (a restore's GTID position: the donor's last sampled gtid_current_pos).
 */
export function assumedAgentResult(
  state: DeciderState,
  c: AgentCall,
  via: "reply" | "done",
  where: { address: string; donor: string | null },
): Assumed {
  const a = c.action;
  if (c.long && via === "reply") {
    if (a.action === "receive-backup") {
      return {
        data: { state: "running", address: where.address, port: ASSUMED_PORT },
        assumption: `${c.host} listens for ${a.server}'s restore on a port it picks at run time (${ASSUMED_PORT} stands in for it)`,
      };
    }
    return { data: { state: "running" }, assumption: null };
  }
  if (a.action === "receive-backup") {
    const donor =
      where.donor !== null ? state.lastObservation[where.donor]?.observation : undefined;
    const gtid = donor?.gtidCurrentPos ?? "";
    return {
      data: { gtid, bytes: 0, datadirBytes: 0 },
      assumption: `${a.server} is restored at its donor's last sampled gtid_current_pos ${gtid || "(empty)"}`,
    };
  }
  if (a.action === "kill-server") {
    return { data: { killed: true }, assumption: null };
  }
  return { data: {}, assumption: null };
}
