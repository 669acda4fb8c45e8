// Operations' records (MARINA_HISTORY) for people: one row per operation, or one operation
// with its request, phases and steps with their timings.
import type { HistoryOutcome, HistoryStep, OperationRecord } from "@marina/contracts";
import type { Style } from "./style.js";
import { renderTable, type TableOptions } from "./table.js";
import { formatClock, formatDuration } from "./units.js";

export function paintOutcome(outcome: HistoryOutcome, s: Style): string {
  switch (outcome) {
    case "succeeded":
      return s.green(outcome);
    case "cancelled":
      return s.yellow(outcome);
    case "failed":
    case "refused":
      return s.red(outcome);
    default: {
      const never: never = outcome;
      return never;
    }
  }
}

/** `db1→db2` for a switchover, `failed=db1 candidate=db2` otherwise. */
export function formatServers(servers: Readonly<Record<string, string>>): string {
  const { old, target } = servers;
  if (old !== undefined && target !== undefined && Object.keys(servers).length === 2) {
    return `${old}→${target}`;
  }
  return Object.entries(servers)
    .map(([role, name]) => `${role}=${name}`)
    .join(" ");
}

/** Who asked: `auto`, or the request's source (`command` when it did not say). */
export function formatRequester(r: OperationRecord): string {
  if (r.trigger === "automatic") return "auto";
  return r.request?.source ?? "command";
}

const oneLine = (text: string, max: number) => {
  const t = text.replace(/\s+/g, " ");
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
};

/** What the row says about how it ended: the error's code and message, or the last word. */
function detailOf(r: OperationRecord): string {
  return r.error ? `${r.error.code}: ${r.error.message}` : r.message;
}

export function formatHistoryTable(
  records: readonly OperationRecord[],
  o: TableOptions & { now: Date; width: number },
): string {
  const head = ["ended", "kind", "id", "outcome", "by", "servers", "took", "detail"];
  const rows = records.map((r) => [
    formatClock(r.endedAt, o.now),
    r.kind,
    r.id,
    paintOutcome(r.outcome, o.style),
    oneLine(formatRequester(r), 32),
    formatServers(r.servers),
    r.outcome === "refused" ? "-" : formatDuration(r.durationMs),
    oneLine(detailOf(r), Math.max(30, o.width - 110)),
  ]);
  return renderTable(head, rows, o);
}

function stepTime(s: HistoryStep, start: number): string {
  if (s.sentAt === null) return "-";
  return `+${((new Date(s.sentAt).getTime() - start) / 1000).toFixed(3)} s`;
}

function paintStatus(status: HistoryStep["status"], s: Style): string {
  if (status === "ok") return s.green(status);
  if (status === "failed") return s.red(status);
  if (status === "skipped") return s.dim(status);
  return s.yellow(status);
}

/** `marina history --op ID`: the whole record. */
export function formatHistoryRecord(r: OperationRecord, o: TableOptions & { now: Date }): string[] {
  const s = o.style;
  const took = r.outcome === "refused" ? "" : ` in ${formatDuration(r.durationMs)}`;
  const lines = [
    `${s.cyan(r.kind)} ${s.bold(r.id)} ${paintOutcome(r.outcome, s)}${took}`,
    `  cluster    ${r.cluster}`,
    `  started    ${formatClock(r.startedAt, o.now)}   ended ${formatClock(r.endedAt, o.now)}`,
    `  trigger    ${r.trigger === "automatic" ? "automatic (Marina)" : "command"}`,
  ];
  if (r.request) {
    const q = r.request;
    const from = q.source ?? "(not stated: a bare payload)";
    lines.push(`  requested  ${q.verb} ${JSON.stringify(q.payload)}`);
    lines.push(`  by         ${from}${q.messageId ? `  (message ${q.messageId})` : ""}`);
  }
  lines.push(`  reason     ${r.reason}`);
  if (Object.keys(r.servers).length > 0) lines.push(`  servers    ${formatServers(r.servers)}`);
  lines.push(`  decider    ${r.decider} (epoch ${r.epoch})`);
  lines.push(`  outcome    ${r.message}`);
  if (r.error) {
    const path = r.error.path ? ` at ${r.error.path}` : "";
    lines.push(`  error      ${s.red(r.error.code)}${path}: ${r.error.message}`);
  }
  if (r.phases.length > 0) {
    const phases = r.phases.map((p) => `${p.name} ${formatDuration(p.durationMs)}`).join(" · ");
    lines.push(`  phases     ${phases}`);
  }
  if (r.steps.length > 0) {
    const start = new Date(r.startedAt).getTime();
    const rows = r.steps.map((x) => [
      x.phase,
      x.server,
      x.description,
      paintStatus(x.status, s),
      x.attempts > 1 ? String(x.attempts) : "",
      stepTime(x, start),
      x.durationMs === null ? "-" : formatDuration(x.durationMs),
      x.error ? `${x.error.code}: ${oneLine(x.error.message, 80)}` : "",
    ]);
    const head = ["phase", "server", "step", "status", "tries", "sent", "took", "error"];
    lines.push("", renderTable(head, rows, o));
    if (r.stepsOmitted > 0) lines.push(s.dim(`  … and ${r.stepsOmitted} more steps`));
  }
  if (r.agentCalls.length > 0) {
    const rows = r.agentCalls.map((c) => [
      c.phase,
      c.host,
      `${c.action} ${c.server}`,
      paintStatus(c.status, s),
      c.durationMs === null ? "-" : formatDuration(c.durationMs),
      c.error ? `${c.error.code}: ${oneLine(c.error.message, 80)}` : "",
    ]);
    lines.push("", renderTable(["phase", "agent", "action", "status", "took", "error"], rows, o));
  }
  for (const h of r.hooks ?? []) {
    const end =
      h.hook === "veto"
        ? ""
        : h.timedOut
          ? "timed out"
          : h.signal !== null
            ? `killed by ${h.signal}`
            : h.exitCode !== null
              ? `exit ${h.exitCode}`
              : "did not run";
    const head = [
      `  ${s.bold(h.hook)} (${h.phase})`,
      paintStatus(h.status, s),
      end,
      h.durationMs === null ? "" : `in ${formatDuration(h.durationMs)}`,
      h.vetoed ? s.red("vetoed") : "",
    ];
    lines.push("", head.filter((x) => x !== "").join(" "));
    for (const [name, text] of [
      [h.hook === "veto" ? "replies" : "stdout", h.stdout],
      [h.hook === "veto" ? "error" : "stderr", h.stderr],
    ] as const) {
      if (text.trim() === "") continue;
      for (const line of text.trimEnd().split("\n").slice(0, 20)) {
        lines.push(`    ${s.dim(name.padEnd(7))} ${line}`);
      }
    }
  }
  return lines;
}
