// Every server as the page shows it: role, read_only, GTID, lag, situations, agent, and
// the marks an operator must not miss (down, diverged, fenced, maintenance), merged from
// the leader's status (lag, situations, agents) and the newest topology (roles, sources).
import type { ClusterTopology, StatusData, StatusServer } from "./api-types.js";
import { formatDuration, formatLag } from "./format.js";

/** How a role is drawn: its own colour class, and a word that says it without colour. */
export type Tone = "primary" | "replica" | "relay" | "danger" | "diverged" | "fenced" | "muted";

export type Mark = "writer" | "down" | "diverged" | "fenced" | "maintenance" | "broken" | "lagging";

export type LinkState = "ok" | "broken" | "lagging" | "down";

export interface SourceLink {
  readonly connection: string;
  readonly source: string;
  readonly state: LinkState;
}

export interface AgentView {
  readonly text: string;
  readonly state: "ok" | "stale" | "none" | "unknown";
}

export interface ServerView {
  readonly name: string;
  readonly address: string;
  readonly role: string;
  readonly tone: Tone;
  readonly readOnly: string;
  readonly gtid: string;
  readonly lag: string;
  readonly lagSeconds: number | null;
  readonly situations: readonly string[];
  readonly marks: readonly Mark[];
  readonly sources: readonly SourceLink[];
  readonly agent: AgentView;
  readonly reason: string | null;
  /** GTIDs it has that the primary lacks, when diverged. */
  readonly extraGtids: string | null;
}

/** An agent heartbeat older than this is stale (they come every second; the decider's own threshold is 15 s). */
export const AGENT_STALE_MS = 5_000;
/** A replica this far behind is marked lagging even before the decider calls it so. */
export const LAG_WARN_SECONDS = 10;

export function toneOf(role: string): Tone {
  switch (role) {
    case "primary":
      return "primary";
    case "replica":
      return "replica";
    case "relay":
      return "relay";
    case "down":
      return "danger";
    case "diverged":
      return "diverged";
    case "fenced":
      return "fenced";
    default:
      return "muted";
  }
}

function agentOf(status: StatusData | null, server: StatusServer | undefined): AgentView {
  const host = server?.agentHost;
  if (!status || server === undefined) return { text: "—", state: "unknown" };
  if (!host) return { text: "no agent", state: "none" };
  const age = status.agents[host];
  if (age === undefined || age === null) return { text: `${host}: not heard`, state: "stale" };
  return age > AGENT_STALE_MS
    ? { text: `${host}: silent ${formatDuration(age)}`, state: "stale" }
    : { text: `${host}: ok`, state: "ok" };
}

function linkState(replica: StatusServer | undefined, role: string): LinkState {
  if (role === "down") return "down";
  const sit = replica?.situations ?? [];
  if (sit.includes("ReplicaBroken")) return "broken";
  if (sit.includes("ReplicaLagging") || (replica?.lagSeconds ?? 0) > LAG_WARN_SECONDS) {
    return "lagging";
  }
  return "ok";
}

/** The roles and sources come from whichever of the two is newer. */
function useTopology(status: StatusData | null, topology: ClusterTopology | null): boolean {
  if (!topology) return false;
  if (!status) return true;
  return (
    topology.epoch > status.epoch ||
    (topology.epoch === status.epoch && topology.generation > status.topologyGeneration)
  );
}

export interface ClusterView {
  readonly primary: string | null;
  readonly writer: string | null;
  readonly servers: readonly ServerView[];
}

export function clusterView(
  status: StatusData | null,
  topology: ClusterTopology | null,
): ClusterView {
  const fromTopology = useTopology(status, topology);
  const names = [
    ...new Set([
      ...(status?.servers.map((s) => s.name) ?? []),
      ...(topology?.servers.map((s) => s.name) ?? []),
    ]),
  ];
  const servers = names.map((name): ServerView => {
    const st = status?.servers.find((s) => s.name === name);
    const tp = topology?.servers.find((s) => s.name === name);
    const base = fromTopology ? (tp ?? st) : (st ?? tp);
    const role = base?.role ?? "unknown";
    const writer = fromTopology ? topology?.writer?.server : status?.writer?.server;
    // The status's sources are as of now; the published topology's as of its last change
    // of roles (a repoint alone does not publish it again).
    const linked = fromTopology ? tp?.sources : (st?.sources ?? tp?.sources);
    const sources: SourceLink[] = (linked ?? []).map((x) => ({
      connection: x.connection,
      source: x.source,
      state: linkState(st, role),
    }));
    const marks: Mark[] = [];
    if (writer === name) marks.push("writer");
    if (role === "down") marks.push("down");
    if (role === "diverged" || (status && name in status.diverged)) marks.push("diverged");
    if (role === "fenced" || status?.fenced.includes(name)) marks.push("fenced");
    if (role === "maintenance" || status?.maintenance.includes(name)) marks.push("maintenance");
    if (sources.some((x) => x.state === "broken")) marks.push("broken");
    if (sources.some((x) => x.state === "lagging")) marks.push("lagging");
    return {
      name,
      address: base ? `${base.host}:${base.port}` : "?",
      role,
      tone: toneOf(role),
      readOnly: base?.readOnly === null || base === undefined ? "?" : base.readOnly ? "ON" : "OFF",
      gtid: base?.gtidCurrentPos || "—",
      lag: formatLag(st?.lagSeconds ?? null),
      lagSeconds: st?.lagSeconds ?? null,
      situations: st?.situations ?? [],
      marks,
      sources,
      agent: agentOf(status, st),
      reason: base?.reason ?? null,
      extraGtids: status?.diverged[name] ?? null,
    };
  });
  return {
    primary: fromTopology ? (topology?.primary ?? null) : (status?.primary ?? null),
    writer: (fromTopology ? topology?.writer?.server : status?.writer?.server) ?? null,
    servers,
  };
}
