import type { ExecRequest, ExecStep } from "@marina/contracts/executor";
import type { DeciderOptions } from "./options.js";
import type { Action } from "./types.js";

// Executor steps as everything that sends them sees them: how long to wait for the reply,
// and how to say what a step does in an action's reason. Shared by the operation engine,
// the read-only enforcement and the writes restoration.

/** The action that sends one step (the request as an executor receives it). */
export function stepAction(
  request: Omit<ExecRequest, "beatTo">,
  timeoutMs: number,
  reason: string,
): Extract<Action, { kind: "step" }> {
  return { kind: "step", request, timeoutMs, reason };
}

/**
 * Steps never sent twice once they may have run — not as a retry, not after a leader change:
 * a flashback that stopped part-way must not apply its reverse again (it would undo what is
 * already undone). A lost answer is a failure.
 */
export const ONCE_KINDS: ReadonlySet<ExecStep["kind"]> = new Set(["flashback"]);

/** How long the edge waits for a step's reply: a waiting step's own timeout plus a margin. */
export function replyTimeoutMs(step: ExecStep, opts: DeciderOptions): number {
  return "timeoutMs" in step && step.timeoutMs !== undefined
    ? step.timeoutMs + opts.stepReplyMarginMs
    : opts.stepTimeoutMs;
}

export function describeStep(step: ExecStep): string {
  switch (step.kind) {
    case "inspect":
      return "inspect";
    case "set-read-only":
      return `set read_only=${step.readOnly ? 1 : 0}`;
    case "fence":
      return `fence (read_only=1, kill ${step.kill === "none" ? "no" : step.kill} clients, ${step.semiSync === "keep" ? "semi-sync kept on" : "then semi-sync master off"})`;
    case "kill-clients":
      return `kill clients${step.includePrivileged ? " (privileged too)" : ""}`;
    case "stop-replication":
      return `stop replication '${step.connection}'`;
    case "reset-replication":
      return `reset replication '${step.connection}'`;
    case "change-master":
      return `change master '${step.connection}' to ${step.source} (${step.useGtid})`;
    case "start-replication":
      return `start replication '${step.connection}'${step.untilGtid !== undefined ? ` until ${step.untilGtid}` : ""}`;
    case "set-gtid-slave-pos":
      return `set gtid_slave_pos='${step.pos}'`;
    case "wait-gtid":
      return `wait for gtid '${step.pos}'`;
    case "drain-relay-log":
      return `drain relay log '${step.connection}'`;
    case "set-semi-sync":
      return `semi-sync master=${step.master ?? "-"} slave=${step.slave ?? "-"}${step.strict ? " (strict)" : ""}`;
    case "wait-binlog-stable":
      return `wait binlog stable ${step.stableMs} ms`;
    case "verify-replicating":
      return `verify replicating '${step.connection}'`;
    case "save-binlogs":
      return `save binlogs (extra ${step.extraGtids}${step.forkPoint ? `, from ${step.forkPoint}` : ", from the first file"})`;
    case "flashback":
      return `flashback (undo ${step.extraGtids}${step.forkPoint ? ` after ${step.forkPoint}` : ""})`;
    case "compare-tables":
      return `compare ${step.tables.length} table(s) with ${step.source}`;
    case "set-replication-filter":
      return `replicate only ${step.databases.map((d) => `${d}.*`).join(", ") || "everything"} on '${step.connection}'`;
    case "replace-gtid-domains":
      return `gtid_slave_pos domains ${step.domains.join(", ")} := ${step.pos || "(none)"}, the others kept (SQL threads paused meanwhile)`;
    case "drop-databases":
      return `drop ${step.databases.join(", ")} (not binlogged)`;
    case "run-hook":
      return `run hook ${step.hook} (at most ${step.timeoutMs} ms)`;
    case "ask-veto":
      return `ask veto subject .veto.${step.operation} (${step.timeoutMs} ms${step.required ? ", a reply required" : ""})`;
    default: {
      const never: never = step;
      return String(never);
    }
  }
}
