// A dry-run's report (the plan) as the confirmation dialog shows it: accepted or refused
// and why, the candidates, each phase with the steps it would send and on which server.
import type { DryRunReport } from "./api-types.js";
import { formatDuration } from "./format.js";

export interface PlanStep {
  readonly server: string;
  readonly text: string;
  readonly promotes: boolean;
  readonly detail: readonly string[];
}

export interface PlanPhase {
  readonly name: string;
  /** "now": exactly what would be sent; "planned": built on results not known yet. */
  readonly when: "now" | "planned";
  readonly message: string;
  readonly deadline: string | null;
  readonly steps: readonly PlanStep[];
}

export interface PlanView {
  readonly accepted: boolean;
  readonly headline: string;
  readonly error: string | null;
  readonly candidates: readonly {
    readonly server: string;
    readonly rank: string;
    readonly chosen: boolean;
    readonly reason: string;
  }[];
  readonly phases: readonly PlanPhase[];
  readonly events: readonly string[];
  /** flashback: each extra transaction with its verdict (empty for other verbs). */
  readonly undo: readonly string[];
  readonly assumptions: readonly string[];
  readonly end: string | null;
}

function undoLines(r: DryRunReport): string[] {
  const v = r.undo;
  if (v === undefined) return [];
  if (v === null) return ["no saved verdict on its extra transactions"];
  return [
    v.undoable ? `${v.count} extra transaction(s): can be undone` : `cannot be undone: ${v.reason}`,
    ...v.transactions.map(
      (t) =>
        `${t.gtid} ${t.undoable ? "undo" : "no"}: ${t.tables.map((x) => `${x.schema}.${x.table}`).join(", ") || "-"} (${t.rows.insert} ins, ${t.rows.update} upd, ${t.rows.delete} del)${t.reason ? ` — ${t.reason}` : ""}`,
    ),
  ];
}

export function planView(r: DryRunReport): PlanView {
  const op = r.operation;
  return {
    accepted: r.outcome === "accepted",
    headline: r.message,
    error: r.error
      ? `${r.error.code}${r.error.path ? ` at ${r.error.path}` : ""}: ${r.error.message}`
      : null,
    candidates: (r.candidates ?? []).map((c) => ({
      server: c.server,
      rank: c.rank === null ? "excluded" : `#${c.rank}`,
      chosen: c.chosen,
      reason: c.reason,
    })),
    phases: (op?.phases ?? []).map((p) => ({
      name: p.name,
      when: p.known ? "now" : "planned",
      message: p.message,
      deadline: p.deadlineMs === null ? null : formatDuration(p.deadlineMs),
      steps: [
        ...p.steps.map((s) => ({
          server: s.server,
          text: s.description,
          promotes: s.promotes,
          detail: s.sql,
        })),
        ...p.agentCalls.map((c) => ({
          server: c.server,
          text: `agent ${c.host}: ${c.description}`,
          promotes: false,
          detail: c.programs.map((x) => `$ ${x}`),
        })),
      ],
    })),
    events: r.events.map((e) => `${e.situation}${e.server ? ` (${e.server})` : ""}: ${e.reason}`),
    undo: undoLines(r),
    assumptions: r.assumptions,
    end: op?.end
      ? `${op.end.state}: ${op.end.message}`
      : op?.stoppedAt
        ? `waits on: ${op.stoppedAt}`
        : null,
  };
}
