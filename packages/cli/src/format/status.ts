// `marina status` for people: the cluster's state and running operation, then one row per
// server (role, read_only, GTID, lag, situation, agent), then what needs a sentence.
import type { StatusData } from "../status-reply.js";
import { formatLag, transactionsBehind } from "./lag.js";
import { paintReadOnly, paintRole, paintSituation } from "./roles.js";
import type { Style } from "./style.js";
import { renderTable } from "./table.js";
import { formatClock, formatDuration } from "./units.js";

/** An agent heartbeat older than this is shown as stale (they come every second). */
export const AGENT_STALE_MS = 5000;

export interface StatusView {
  readonly status: StatusData;
  /** Which agent host serves each server, as the agents' heartbeats say (may be partial). */
  readonly agentOf: Readonly<Record<string, string>>;
  readonly now: Date;
  readonly style: Style;
  readonly boxed: boolean;
}

export function formatStatus(v: StatusView): string {
  const lines = [...headerLines(v), "", serverTable(v), ...noteLines(v)];
  return lines.join("\n");
}

function headerLines(v: StatusView): string[] {
  const { status: st, style: s, now } = v;
  const writer = st.writer
    ? `${st.writer.server} (${st.writer.host}:${st.writer.port})`
    : s.red("none");
  const primary = st.primary ? s.bold(st.primary) : s.red("unknown");
  const lines = [
    `cluster ${s.bold(st.cluster)}  primary ${primary}  writer ${writer}  leader ${st.decider} (epoch ${st.epoch})`,
    ...pausedLines(v),
    `operation: ${operationText(v)}`,
  ];
  const f = st.failovers;
  const cooling = f.cooldownUntil !== null && new Date(f.cooldownUntil).getTime() > now.getTime();
  lines.push(
    `failovers: ${f.inWindow} of ${f.maxPerWindow} in the window; last ${f.lastAt ? formatClock(f.lastAt, now) : "never"}${cooling ? s.yellow(`; cooldown until ${formatClock(f.cooldownUntil!, now)}`) : ""}`,
  );
  if (st.clusterSituations.length > 0) {
    lines.push(`cluster: ${st.clusterSituations.map((t) => paintSituation(t, s)).join(", ")}`);
  }
  if (st.maintenance.length > 0) lines.push(`maintenance: ${st.maintenance.join(", ")}`);
  const last = st.history.at(-1);
  if (last) {
    const took = new Date(last.endedAt).getTime() - new Date(last.startedAt).getTime();
    const state = last.state === "succeeded" ? s.green(last.state) : s.red(last.state);
    lines.push(
      `last operation: ${last.kind} ${last.opId} ${state} ${formatClock(last.endedAt, now)} (${formatDuration(took)}): ${last.message}`,
    );
  }
  return lines;
}

/** Paused: said first after the cluster line, loudly, with what is being held back. */
function pausedLines(v: StatusView): string[] {
  const p = v.status.paused;
  if (!p) return [];
  const { style: s, now } = v;
  const lines = [
    s.red(
      s.bold(
        `PAUSED since ${formatClock(p.since, now)}${p.by ? ` by ${p.by}` : ""}: ${p.reason} — Marina starts nothing on its own (marina resume)`,
      ),
    ),
  ];
  for (const h of p.held) lines.push(s.yellow(`  held: ${h}`));
  return lines;
}

function operationText(v: StatusView): string {
  const op = v.status.operation;
  if (op === null) return v.style.dim("none");
  const running = v.now.getTime() - new Date(op.startedAt).getTime();
  const servers = Object.entries(op.servers)
    .map(([k, n]) => `${k}=${n}`)
    .join(" ");
  const state = op.status === "running" ? op.status : v.style.yellow(op.status);
  return `${v.style.cyan(op.kind)} ${op.opId} phase ${v.style.bold(op.phase || "start")} (${state}${op.promoted ? ", promoted" : ""}) for ${formatDuration(running)}${servers ? `  ${servers}` : ""}`;
}

function serverTable(v: StatusView): string {
  const { status: st, style: s } = v;
  const rows = st.servers.map((srv) => {
    const lag = srv.name === st.primary ? s.dim("-") : lagText(st, srv.gtidCurrentPos, s);
    return [
      s.bold(srv.name),
      paintRole(srv.role, s),
      paintReadOnly(srv.readOnly, srv.role, s),
      srv.gtidCurrentPos ? srv.gtidCurrentPos : s.dim(srv.gtidCurrentPos === "" ? "empty" : "-"),
      lag,
      srv.situations.length > 0
        ? srv.situations.map((t) => paintSituation(t, s)).join(", ")
        : s.dim("-"),
      agentText(v, srv.name),
    ];
  });
  return renderTable(["server", "role", "read_only", "GTID", "lag", "situation", "agent"], rows, {
    boxed: v.boxed,
    style: s,
  });
}

function lagText(st: StatusData, position: string | null, s: Style): string {
  const lag = transactionsBehind(st.primaryPosition, position);
  const text = formatLag(lag);
  return lag.kind === "ahead" ? s.red(text) : lag.kind === "behind" ? s.yellow(text) : text;
}

function agentText(v: StatusView, server: string): string {
  const host = v.agentOf[server];
  if (host === undefined) return v.style.dim("-");
  return `${host} ${ageText(v.status.agents[host], v.style)}`;
}

function ageText(ageMs: number | null | undefined, s: Style): string {
  if (ageMs === null || ageMs === undefined) return s.red("never heard");
  const text = formatDuration(ageMs);
  return ageMs > AGENT_STALE_MS ? s.red(`${text} ago`) : s.dim(text);
}

function noteLines(v: StatusView): string[] {
  const { status: st, style: s } = v;
  const notes = st.servers.flatMap((srv) => (srv.reason ? [`  ${srv.name}: ${srv.reason}`] : []));
  for (const [server, extra] of Object.entries(st.diverged)) {
    if (!st.servers.some((x) => x.name === server && x.reason?.includes(extra))) {
      notes.push(`  ${server}: diverged, extra GTIDs ${extra}`);
    }
  }
  const mapped = new Set(Object.values(v.agentOf));
  const unmapped = Object.keys(st.agents).filter((h) => !mapped.has(h));
  for (const host of unmapped) {
    notes.push(`  agent ${host}: ${ageText(st.agents[host], s)} (its servers not heard yet)`);
  }
  return notes.length > 0 ? ["", ...notes] : [];
}
