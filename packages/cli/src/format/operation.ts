// An operation as it happens: one line per phase (or new message) with the time since it
// started, a progress line for transfers, and the outcome with each phase's duration.
import type { OperationEvent } from "@marina/contracts";
import type { Style } from "./style.js";
import { formatBytes, formatDuration, formatRate } from "./units.js";

export type OperationProgress = NonNullable<OperationEvent["progress"]>;

const PHASE_WIDTH = 12;

export function isFinal(ev: OperationEvent): boolean {
  return ev.state !== "running";
}

/**
 * Whether `ev` says something `prev` did not: another phase, state or message. Progress
 * updates of the same phase are not (they move the bar).
 */
export function isNews(ev: OperationEvent, prev: OperationEvent | undefined): boolean {
  if (prev === undefined || isFinal(ev)) return true;
  if (ev.phase !== prev.phase || ev.state !== prev.state) return true;
  return ev.progress === null && ev.message !== prev.message;
}

/** `  +  0.150 s  demote       fencing db1` — `at` is when the event was published. */
export function formatPhaseLine(ev: OperationEvent, at: Date, s: Style): string {
  const elapsed = Math.max(0, at.getTime() - new Date(ev.startedAt).getTime());
  const clock = `+${(elapsed / 1000).toFixed(3).padStart(8)} s`;
  return `  ${s.dim(clock)}  ${s.bold(ev.phase.padEnd(PHASE_WIDTH))} ${ev.message}`;
}

export function formatOperationStart(ev: OperationEvent, s: Style): string {
  const servers = Object.entries(ev.servers)
    .map(([role, name]) => `${role}=${name}`)
    .join(" ");
  return `${s.cyan(ev.kind)} ${s.bold(ev.opId)}${servers ? `  ${servers}` : ""}`;
}

/** `412.00 MiB of ~1.10 GiB (37%) at 503.2 MiB/s, ETA 1.4 s`. */
export function formatProgress(p: OperationProgress): string {
  const total = p.totalBytes !== null && p.totalBytes > 0 ? p.totalBytes : null;
  const pct = total !== null ? ` (${Math.min(100, Math.floor((p.bytes / total) * 100))}%)` : "";
  const of = total !== null ? ` of ~${formatBytes(total)}` : "";
  const eta = p.etaMs !== null ? `, ETA ${formatDuration(p.etaMs)}` : "";
  return `${formatBytes(p.bytes)}${of}${pct} at ${formatRate(p.bytesPerSecond)}${eta}`;
}

/** `read-pos 12 ms · demote 40 ms · … · total 176 ms`, in the order the phases ran. */
export function formatTimings(timings: Readonly<Record<string, number>>): string {
  const entries = Object.entries(timings);
  const total = entries.filter(([k]) => k === "total");
  const phases = entries.filter(([k]) => k !== "total");
  return [...phases, ...total].map(([k, v]) => `${k} ${formatDuration(v)}`).join(" · ");
}

export function formatOutcome(ev: OperationEvent, s: Style): string[] {
  const took =
    ev.endedAt !== null ? new Date(ev.endedAt).getTime() - new Date(ev.startedAt).getTime() : null;
  const after = took !== null ? ` in ${formatDuration(took)}` : "";
  const head =
    ev.state === "succeeded"
      ? s.green(`${ev.kind} ${ev.opId} succeeded${after}`)
      : ev.state === "cancelled"
        ? s.yellow(`${ev.kind} ${ev.opId} cancelled${after}`)
        : s.red(`${ev.kind} ${ev.opId} failed${after}`);
  const code = ev.error ? ` [${ev.error.code}${ev.error.path ? ` at ${ev.error.path}` : ""}]` : "";
  const lines = [`${head}: ${ev.message}${code}`];
  const timings = formatTimings(ev.timings);
  if (timings) lines.push(s.dim(`  phases: ${timings}`));
  return lines;
}
