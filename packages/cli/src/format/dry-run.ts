// A dry-run's report (the `dryRun` of the reply) for people: what the command would do now —
// the refusal, or the operation's phases with each step's server and SQL (or the programs an
// agent runs), the candidate ranking, and what the later phases take for granted.
import type { DryRunPhase, DryRunReport } from "@marina/contracts";
import type { Style } from "./style.js";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

function phaseLines(p: DryRunPhase, n: number, s: Style): string[] {
  const when = p.known
    ? s.green("now")
    : `planned${p.dependsOn.length ? `, on ${p.dependsOn.length} result(s) not known yet` : ""}`;
  const deadline = p.deadlineMs !== null ? `; deadline ${seconds(p.deadlineMs)}` : "";
  const out = [`${s.bold(`phase ${n}  ${p.name}`)}  (${when}${deadline})  ${p.message}`];
  for (const d of p.dependsOn) out.push(s.dim(`    depends on: ${d}`));
  const width = Math.max(0, ...p.steps.map((x) => x.key.length));
  for (const x of p.steps) {
    const flags = [
      x.after.length ? `after ${x.after.join(", ")}` : "",
      x.bestEffort ? "best effort" : "",
      x.promotes ? s.yellow("point of no return") : "",
    ].filter((f) => f !== "");
    out.push(
      `    ${x.key.padEnd(width)}  ${s.bold(x.server)}  ${x.description}${flags.length ? s.dim(`  (${flags.join("; ")})`) : ""}`,
    );
    for (const q of x.sql) out.push(s.dim(`      ${q}`));
  }
  for (const c of p.agentCalls) {
    out.push(`    ${c.key}  agent ${s.bold(c.host)} (${c.server})  ${c.description}`);
    for (const prog of c.programs) out.push(s.dim(`      $ ${prog}`));
  }
  if (p.steps.length === 0 && p.agentCalls.length === 0) {
    out.push(s.dim("    (no step: waits for what the phase before started)"));
  }
  return out;
}

/** flashback: the extra transactions, with the verdict on each (from the last save). */
function undoLines(v: DryRunReport["undo"], s: Style): string[] {
  if (!v)
    return [
      "",
      "extra transactions: no saved verdict (not saved yet, or saved by an earlier release)",
    ];
  const verdict = v.undoable
    ? s.green("can be undone")
    : `${s.red("cannot be undone")}: ${v.reason}`;
  const out = ["", `extra transactions (${v.count}): ${verdict}`];
  const w = Math.max(0, ...v.transactions.map((t) => t.gtid.length));
  for (const t of v.transactions) {
    const tables = t.tables.map((x) => `${x.schema}.${x.table}`).join(",") || "-";
    const rows = `${t.rows.insert} ins, ${t.rows.update} upd, ${t.rows.delete} del`;
    out.push(
      `  ${t.gtid.padEnd(w)}  ${t.undoable ? s.green("undo") : s.red("no  ")}  ${tables}  ${rows}${t.reason ? `  ${t.reason}` : ""}`,
    );
  }
  if (v.count > v.transactions.length) {
    out.push(s.dim(`  … and ${v.count - v.transactions.length} more`));
  }
  return out;
}

export function formatDryRun(r: DryRunReport, s: Style): string[] {
  const head =
    r.outcome === "refused"
      ? `${r.verb} would be ${s.red("refused")}: ${s.red(r.error?.code ?? "")}${r.error?.path ? ` at ${s.bold(r.error.path)}` : ""}: ${r.message}`
      : `${r.verb} would be ${s.green("accepted")}: ${r.message}`;
  const out = [`${s.bold("DRY RUN")} — nothing was done. ${head}`];
  if (r.candidates) {
    out.push(
      "",
      "candidates (ranked by the GTIDs received from the primary, then log_slave_updates, then config order):",
    );
    const w = Math.max(0, ...r.candidates.map((c) => c.server.length));
    for (const c of r.candidates) {
      const rank = c.rank === null ? "-" : String(c.rank);
      const mark = c.chosen ? s.green("chosen ") : "       ";
      out.push(`  ${rank.padStart(2)}  ${c.server.padEnd(w)}  ${mark}${c.reason}`);
    }
  }
  if (r.undo !== undefined) out.push(...undoLines(r.undo, s));
  const op = r.operation;
  if (op) {
    const servers = Object.entries(op.servers)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    out.push("", `${s.bold(op.kind)}  ${servers}  reason: ${op.reason}`);
    op.phases.forEach((p, i) => {
      out.push(...phaseLines(p, i + 1, s));
    });
    if (op.end) out.push(`would end: ${op.end.state} — ${op.end.message}`);
    if (op.stoppedAt) out.push(s.dim(`planned no further: ${op.stoppedAt}`));
  }
  if (r.events.length) {
    out.push("", "events it would publish:");
    for (const e of r.events)
      out.push(`  ${e.situation}${e.server ? ` ${e.server}` : ""}: ${e.reason}`);
  }
  if (op && r.assumptions.length) {
    out.push("", "the later phases assume:");
    for (const a of r.assumptions) out.push(s.dim(`  - ${a}`));
  }
  return out;
}
