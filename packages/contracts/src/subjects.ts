import { ClusterName, HostName, OpId, SAFE_NAME, ServerName } from "./names.js";

export const ROOT = "marina.v1";

function token(kind: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new Error(`${kind} "${value}" is not a safe subject token (${SAFE_NAME.source})`);
  }
  return value;
}

export const CommandVerbs = [
  "failover",
  "switchover",
  "rejoin",
  "rebuild",
  "flashback",
  "set-maintenance",
  "clear-maintenance",
  "reset-failover-limits",
  "cancel",
  "status",
  "pause",
  "resume",
  "provision-replica",
  "backup",
  "backups",
  "restore-backup",
  "prune-backups",
] as const;
export type CommandVerb = (typeof CommandVerbs)[number];

export const AgentActionNames = [
  "status",
  "stop-server",
  "start-server",
  "kill-server",
  "send-backup",
  "receive-backup",
  "cancel",
  "provision-facts",
  "persist-replication-filters",
  "take-backup",
  "list-backups",
  "restore-backup",
  "prune-backups",
] as const;
export type AgentActionName = (typeof AgentActionNames)[number];

/** Subject builders; each validates its tokens so no caller can inject `.`, `*` or `>`. */
export const subjects = {
  health: (cluster: string, server: string) =>
    `${ROOT}.${token("cluster", cluster)}.health.${token("server", server)}`,
  healthAll: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.health.*`,
  observed: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.observed`,
  topology: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.topology`,
  events: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.events`,
  op: (cluster: string, opId: string) =>
    `${ROOT}.${token("cluster", cluster)}.op.${token("operation id", opId)}`,
  opAll: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.op.*`,
  /** One record per finished (or refused) operation: `id` is its opId. */
  history: (cluster: string, id: string) =>
    `${ROOT}.${token("cluster", cluster)}.history.${token("operation id", id)}`,
  historyAll: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.history.*`,
  cmd: (cluster: string, verb: CommandVerb) => `${ROOT}.${token("cluster", cluster)}.cmd.${verb}`,
  cmdAll: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.cmd.*`,
  /** Where follower deciders forward commands; only the acting leader subscribes. */
  leaderCmd: (cluster: string, verb: CommandVerb | "*") =>
    `${ROOT}.${token("cluster", cluster)}.leader.cmd.${verb}`,
  /** Veto requests before a failover or switchover (hooks.ts); any system may answer. */
  veto: (cluster: string, operation: "failover" | "switchover") =>
    `${ROOT}.${token("cluster", cluster)}.veto.${operation}`,
  vetoAll: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.veto.*`,
  exec: (cluster: string) => `${ROOT}.${token("cluster", cluster)}.exec`,
  agent: (host: string, action: AgentActionName) =>
    `${ROOT}.agent.${token("host", host)}.${action}`,
  agentHeartbeat: (host: string) => `${ROOT}.agent.${token("host", host)}.heartbeat`,
  agentHeartbeatAll: () => `${ROOT}.agent.*.heartbeat`,
  /** Progress events of long agent actions. */
  agentProgress: (host: string) => `${ROOT}.agent.${token("host", host)}.progress`,
  agentProgressAll: () => `${ROOT}.agent.*.progress`,
  /** The final AgentResult of a long action (same opId as its request). */
  agentDone: (host: string) => `${ROOT}.agent.${token("host", host)}.done`,
  agentDoneAll: () => `${ROOT}.agent.*.done`,
  /** All cluster events, for one JetStream stream. */
  clusterEventsAll: () => `${ROOT}.*.>`,
} as const;

/** Splits a subject back into its tokens; undefined when it is not a Marina subject. */
export function parseClusterSubject(
  subject: string,
): { cluster: string; kind: string; rest: string[] } | undefined {
  const parts = subject.split(".");
  if (parts.length < 4 || `${parts[0]}.${parts[1]}` !== ROOT) return undefined;
  const [, , cluster, kind, ...rest] = parts as [string, string, string, string, ...string[]];
  if (cluster === "agent") return undefined;
  return { cluster, kind, rest };
}

export { ClusterName, HostName, OpId, ServerName };
