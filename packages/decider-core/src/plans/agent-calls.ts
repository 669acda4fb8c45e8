import type { AgentAction } from "@marina/contracts/agent";
import type { AgentCall, Operation } from "../state.js";

// Agent calls as a plan describes them. A plan adds its calls for the phase it is about to
// return (the engine sends the calls of the current phase, as it does steps) and reads
// their replies and results by key. A phase is over when its steps are over, its calls
// answered, and the long calls that name it as `until` have their final result.

/** `P`: the plan's phase union, so a plan names only its own phases. */
export interface AgentCallSpec<P extends string = string> {
  key: string;
  /** The phase the call belongs to (the one the plan returns with it). */
  phase: P;
  /** For a long call: the phase that waits for its final result. */
  until?: P;
  host: string;
  server: string;
  action: AgentAction;
  bestEffort?: boolean;
  reportsProgress?: boolean;
  /** Reply timeout. */
  timeoutMs: number;
}

const LONG: ReadonlySet<AgentAction["action"]> = new Set(["send-backup", "receive-backup"]);

export function addAgentCall(op: Operation, spec: AgentCallSpec): AgentCall {
  if (op.agentCalls.some((c) => c.key === spec.key)) {
    throw new Error(`agent call ${spec.key} already exists in ${op.opId}`);
  }
  const long = LONG.has(spec.action.action);
  const call: AgentCall = {
    id: `${op.opId}-${spec.key}`,
    key: spec.key,
    phase: spec.phase,
    until: long ? (spec.until ?? null) : null,
    host: spec.host,
    server: spec.server,
    action: spec.action,
    long,
    bestEffort: spec.bestEffort ?? false,
    reportsProgress: spec.reportsProgress ?? false,
    status: "waiting",
    attempts: 0,
    sentAt: null,
    timeoutMs: spec.timeoutMs,
    reply: null,
    result: null,
  };
  op.agentCalls.push(call);
  return call;
}

export function callByKey(op: Operation, key: string): AgentCall | undefined {
  return op.agentCalls.find((c) => c.key === key);
}

export function isFinal(c: AgentCall): boolean {
  return c.status === "ok" || c.status === "failed" || c.status === "skipped";
}

/**
 * The call may have had an effect on its host and has not ended there as far as we know:
 * sent and unanswered, accepted and running, or given up on after no reply in time.
 */
export function mayBeRunning(c: AgentCall): boolean {
  if (c.attempts === 0) return false;
  if (c.status === "sent" || c.status === "running") return true;
  return c.status === "failed" && c.reply === null && c.result?.error?.code === "TIMEOUT";
}

export function describeAgentAction(a: AgentAction): string {
  switch (a.action) {
    case "status":
      return "status";
    case "stop-server":
    case "start-server":
      return `${a.action} ${a.server}`;
    case "kill-server":
      return `kill -9 the mariadbd of ${a.server} (STONITH)`;
    case "send-backup":
      return `send a ${a.method === "logical" ? "logical dump" : "backup"} of ${a.server} to ${a.to.address}:${a.to.port} (${a.compression.kind}${a.tls ? ", tls" : ""})`;
    case "receive-backup":
      return `receive a ${a.method === "logical" ? "logical dump" : "backup"} into ${a.server} (${a.compression.kind}${a.tls ? ", tls" : ""})`;
    case "cancel":
      return `cancel ${a.opId}`;
    case "provision-facts":
      return `read what provisioning checks on ${a.server}`;
    case "persist-replication-filters":
      return `write the replication filters of ${a.server} into its option file`;
    case "take-backup":
      return `take a backup of ${a.server} into its host's backupDir`;
    case "list-backups":
      return `list the backups of ${a.server}`;
    case "restore-backup":
      return `restore ${a.server} from its backup ${a.id}`;
    case "prune-backups":
      return `${a.dryRun ? "list what a prune would delete among" : "delete"} the backups of ${a.server} beyond the newest ${a.keep} complete one(s)${a.olderThanDays === undefined ? "" : ` older than ${a.olderThanDays} day(s)`}`;
    default: {
      const never: never = a;
      return String(never);
    }
  }
}
