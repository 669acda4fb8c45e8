import type {
  AgentHeartbeat,
  AgentProgress,
  AgentRequest,
  AgentResult,
} from "@marina/contracts/agent";
import type { Command, CommandReply } from "@marina/contracts/commands";
import type { ClusterConfig } from "@marina/contracts/config";
import type { ClusterEvent } from "@marina/contracts/events";
import type { ExecRequest, ExecResult } from "@marina/contracts/executor";
import type { HealthSample } from "@marina/contracts/health";
import type { OperationRecord } from "@marina/contracts/history";
import type { OperationEvent } from "@marina/contracts/operations";
import type { ClusterTopology } from "@marina/contracts/topology";
import type { DeciderOptions } from "./options.js";
import type { DeciderState } from "./state.js";

/** Everything decide() may know about the outside world, passed in as data. */
export interface Ctx {
  /** Milliseconds since the epoch; decide never reads a clock. */
  readonly now: number;
  readonly config: ClusterConfig;
  /** Leader epoch (fencing token) carried by every step. */
  readonly epoch: number;
  readonly leader: boolean;
  /** A fresh operation id (a SAFE_NAME); called only when an operation or fix starts. */
  readonly newOpId: () => string;
  /** Who decides, e.g. `decider@host`; echoed in status. */
  readonly source: string;
  readonly options?: Partial<DeciderOptions>;
}

export const InputKinds = {
  health: "health",
  agentHeartbeat: "agent-heartbeat",
  command: "command",
  stepResult: "step-result",
  tick: "tick",
  resume: "resume",
  agentResult: "agent-result",
  agentProgress: "agent-progress",
} as const;

export type Input =
  | { kind: "health"; sample: HealthSample }
  | { kind: "agent-heartbeat"; heartbeat: AgentHeartbeat }
  | {
      kind: "command";
      requestId: string;
      command: Command;
      /** Who the command's envelope says sent it (for the history); absent: unknown. */
      origin?: { source: string | null; messageId: string | null };
    }
  /** A timeout or a lost executor arrives as ok:false with TIMEOUT / SERVER_UNREACHABLE. */
  | { kind: "step-result"; opId: string; stepId: string; result: ExecResult }
  | { kind: "tick" }
  /** A new leader loaded the state: send the running operation's pending steps again. */
  | { kind: "resume" }
  /**
   * An agent's answer to call `key` of operation `opId`: its reply (`via: "reply"`; no reply
   * in `timeoutMs` → ok:false with TIMEOUT) or a long action's final result from `.done`.
   */
  | { kind: "agent-result"; opId: string; key: string; via: "reply" | "done"; result: AgentResult }
  /** Progress of a long agent action of the running operation (from `.progress`). */
  | { kind: "agent-progress"; opId: string; key: string; progress: AgentProgress };

export const ActionKinds = {
  event: "event",
  topology: "topology",
  step: "step",
  operation: "operation",
  reply: "reply",
  agent: "agent",
  history: "history",
} as const;

export type Action =
  | { kind: "event"; event: ClusterEvent; reason: string }
  | { kind: "topology"; topology: ClusterTopology; reason: string }
  /** Send to executors; the edge turns no reply within timeoutMs into a TIMEOUT result. */
  | { kind: "step"; request: ExecRequest; timeoutMs: number; reason: string }
  | { kind: "operation"; event: OperationEvent; reason: string }
  | { kind: "reply"; requestId: string; reply: CommandReply; reason: string }
  /** Keep an operation's record (`marina.v1.<cluster>.history.<id>`, stream MARINA_HISTORY). */
  | { kind: "history"; record: OperationRecord; reason: string }
  /**
   * Send to the host's agent (`subjects.agent(host, action)`); feed the reply back as
   * `agent-result` with `opId` and `key`, and so the final result of a long action.
   */
  | {
      kind: "agent";
      request: AgentRequest;
      opId: string;
      key: string;
      timeoutMs: number;
      reason: string;
    };

export interface DecideResult {
  state: DeciderState;
  actions: Action[];
}
