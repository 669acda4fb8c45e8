// The operation panel: the running operation (or the last one that ended) with its
// phases — each done, current or failed, with how long it took — and a rebuild's progress
// (bytes, rate, ETA).
import type { OperationRecord, StatusData } from "./api-types.js";
import { formatBytes, formatDuration, formatRate } from "./format.js";
import type { DashboardState, TrackedOperation } from "./state.js";

export type PhaseState = "done" | "current" | "failed";

export interface PhaseView {
  readonly name: string;
  readonly state: PhaseState;
  /** Known once the phase is over (from the record, or from when the next one began). */
  readonly duration: string | null;
}

export interface ProgressView {
  /** 0–100, null when the total is unknown. */
  readonly percent: number | null;
  readonly done: string;
  readonly rate: string;
  readonly eta: string | null;
}

export interface OperationView {
  readonly opId: string;
  readonly kind: string;
  /** `ended`: it runs no more (the status says so) and its outcome is not known yet. */
  readonly state: "running" | "succeeded" | "failed" | "cancelled" | "refused" | "ended";
  readonly title: string;
  readonly servers: readonly { readonly role: string; readonly server: string }[];
  readonly phases: readonly PhaseView[];
  readonly message: string;
  readonly progress: ProgressView | null;
  readonly startedAt: string;
  /** "running for 3.2 s" or "took 1.4 s". */
  readonly elapsed: string;
  readonly error: string | null;
  readonly cancellable: boolean;
}

function titleOf(kind: string, servers: Readonly<Record<string, string>>): string {
  const from = servers.failed ?? servers.old ?? servers.primary;
  const to = servers.candidate ?? servers.target ?? servers.new ?? servers.server;
  if (from && to) return `${kind} ${from} → ${to}`;
  return to ? `${kind} ${to}` : kind;
}

function phasesFromTrack(t: TrackedOperation, now: number, overruled: boolean): PhaseView[] {
  const ended = t.last.state !== "running" || overruled;
  return t.phases.map((p, i) => {
    const next = t.phases[i + 1];
    const last = i === t.phases.length - 1;
    const end = next ? Date.parse(next.since) : t.last.endedAt ? Date.parse(t.last.endedAt) : now;
    // Overruled: it ended, how is not known yet (the history will say).
    const state: PhaseState =
      !last || overruled || t.last.state === "succeeded" ? "done" : ended ? "failed" : "current";
    return {
      name: p.name,
      state,
      duration:
        state === "current" || (last && overruled)
          ? null
          : formatDuration(Math.max(0, end - Date.parse(p.since))),
    };
  });
}

function progressOf(t: TrackedOperation): ProgressView | null {
  const p = t.last.progress;
  if (!p || t.last.state !== "running") return null;
  const percent = p.totalBytes ? Math.min(100, Math.round((p.bytes / p.totalBytes) * 100)) : null;
  return {
    percent,
    done: p.totalBytes
      ? `${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}`
      : formatBytes(p.bytes),
    rate: formatRate(p.bytesPerSecond),
    eta: p.etaMs === null ? null : formatDuration(p.etaMs),
  };
}

/** `overruled`: the stream said running, a later status says it runs no more. */
export function fromTracked(t: TrackedOperation, now: number, overruled = false): OperationView {
  const e = t.last;
  const end = e.endedAt ? Date.parse(e.endedAt) : now;
  const ms = Math.max(0, end - Date.parse(e.startedAt));
  const state = overruled ? "ended" : e.state;
  return {
    opId: e.opId,
    kind: e.kind,
    state,
    title: titleOf(e.kind, e.servers),
    servers: Object.entries(e.servers).map(([role, server]) => ({ role, server })),
    phases: phasesFromTrack(t, now, overruled),
    message: overruled ? `${e.message} (ended; its outcome is in the history)` : e.message,
    progress: overruled ? null : progressOf(t),
    startedAt: e.startedAt,
    elapsed:
      state === "running"
        ? `running for ${formatDuration(ms)}`
        : e.endedAt
          ? `took ${formatDuration(ms)}`
          : "",
    error: e.error ? `${e.error.code}: ${e.error.message}` : null,
    cancellable: state === "running",
  };
}

export function fromRecord(r: OperationRecord): OperationView {
  return {
    opId: r.id,
    kind: r.kind,
    state: r.outcome,
    title: titleOf(r.kind, r.servers),
    servers: Object.entries(r.servers).map(([role, server]) => ({ role, server })),
    phases: r.phases.map((p, i, all) => ({
      name: p.name,
      state: i === all.length - 1 && r.outcome !== "succeeded" ? "failed" : "done",
      duration: formatDuration(p.durationMs),
    })),
    message: r.message,
    progress: null,
    startedAt: r.startedAt,
    elapsed: `took ${formatDuration(r.durationMs)}`,
    error: r.error ? `${r.error.code}: ${r.error.message}` : null,
    cancellable: false,
  };
}

/** Only the status knows of it (started before the page connected, no message yet). */
function fromStatus(op: NonNullable<StatusData["operation"]>, now: number): OperationView {
  return {
    opId: op.opId,
    kind: op.kind,
    state: "running",
    title: titleOf(op.kind, op.servers),
    servers: Object.entries(op.servers).map(([role, server]) => ({ role, server })),
    phases: op.phase ? [{ name: op.phase, state: "current", duration: null }] : [],
    message: op.status,
    progress: null,
    startedAt: op.startedAt,
    elapsed: `running for ${formatDuration(Math.max(0, now - Date.parse(op.startedAt)))}`,
    error: null,
    cancellable: true,
  };
}

/**
 * What the operation panel shows: the running operation (from the stream, else the
 * status), else the last one followed on the stream, else the newest history record.
 */
/** How much newer than an operation's last message a status must be to overrule it. */
export const STATUS_OVERRULES_MS = 1500;

export function operationView(
  s: Pick<DashboardState, "operations" | "status" | "statusAt" | "history">,
  now: number,
): OperationView | null {
  const { operations, status, statusAt, history } = s;
  const tracked = Object.values(operations);
  // A running operation the stream brought, unless a later status says no such one runs
  // (its end was missed: a reconnect, a new leader).
  const running = tracked
    .filter((t) => t.last.state === "running")
    .filter(
      (t) =>
        status?.operation?.opId === t.last.opId ||
        statusAt === null ||
        statusAt < t.receivedAt + STATUS_OVERRULES_MS,
    )
    .at(-1);
  if (running) return fromTracked(running, now);
  if (status?.operation) return fromStatus(status.operation, now);
  const newestTracked = [...tracked]
    .sort((a, b) => a.last.startedAt.localeCompare(b.last.startedAt))
    .at(-1);
  const newestRecord = history.find((r) => r.outcome !== "refused");
  if (newestTracked && (!newestRecord || newestTracked.last.startedAt >= newestRecord.startedAt)) {
    // Once recorded, the record has the phases' exact durations and the outcome.
    const rec = history.find((r) => r.id === newestTracked.last.opId);
    if (rec) return fromRecord(rec);
    return fromTracked(newestTracked, now, newestTracked.last.state === "running");
  }
  return newestRecord ? fromRecord(newestRecord) : null;
}
