import type { AgentHeartbeat } from "@marina/contracts/agent";
import type { ErrorBody } from "@marina/contracts/commands";
import type { ExecStep } from "@marina/contracts/executor";
import type { HealthSample, ServerObservation } from "@marina/contracts/health";
import type { OperationKind, OperationState } from "@marina/contracts/operations";
import type { ClusterTopology } from "@marina/contracts/topology";

// The whole state is plain JSON (no Map, Set, BigInt, undefined-vs-missing tricks): the
// decider service persists it in JetStream KV so a new leader resumes a running operation.

export interface SampleRecord {
  sample: HealthSample;
  receivedAt: number;
}

export interface ObservationRecord {
  observation: ServerObservation;
  at: number;
  monitor: string;
}

/** What we last learned about a server's read_only, from a sample or from our own steps. */
export interface ReadOnlyRecord {
  readOnly: boolean;
  at: number;
  by: "sample" | "step";
  /** read_only=0 was sent but not confirmed: writable for the guard, not yet for writers. */
  pending: boolean;
}

export type StepStatus = "waiting" | "sent" | "ok" | "failed" | "skipped";

export interface OpStep {
  id: string;
  /** Name the plan gave the step, unique within its phase. */
  key: string;
  phase: string;
  server: string;
  step: ExecStep;
  /** Ids of steps that must succeed first; steps without an order between them run at once. */
  after: string[];
  /** A failure ends this step's lane only (e.g. one replica not repointed), not the operation. */
  bestEffort: boolean;
  /** Sending it is the point of no return: the new primary becomes writable. */
  promotes: boolean;
  status: StepStatus;
  attempts: number;
  sentAt: number | null;
  /** How long the edge waits for a reply before reporting TIMEOUT. */
  timeoutMs: number;
  /** Times the write guard held this step back to fence another writable server. */
  guardRounds: number;
  result: { data: Record<string, unknown>; error: ErrorBody | null } | null;
}

export interface FailoverPlan {
  kind: "failover";
  failed: string;
  target: string | null;
  manual: boolean;
  /** The failed primary was reachable (forced failover): it is fenced first. */
  fenceOld: boolean;
  candidate: string | null;
  /** The candidate's connection to the failed primary. */
  connection: string | null;
  pulls: { from: string; connection: string; pos: string }[];
  repoint: { server: string; connection: string; useGtid: "slave_pos" | "current_pos" }[];
  /** Replicas left alone, with why (maintenance, not inspected, ...). */
  skipped: { server: string; why: string }[];
}

export interface SwitchoverPlan {
  kind: "switchover";
  old: string;
  target: string;
  connection: string;
  timeoutMs: number;
  force: boolean;
  /** The old primary's gtid_binlog_pos once its binlog was stable. */
  finalPos: string | null;
  repoint: { server: string; connection: string; useGtid: "slave_pos" | "current_pos" }[];
}

export interface RejoinPlan {
  kind: "rejoin";
  server: string;
  primary: string;
  connection: string;
  useGtid: "slave_pos" | "current_pos";
  wasPrimary: boolean;
  auto: boolean;
}

export type Plan = FailoverPlan | SwitchoverPlan | RejoinPlan;

export interface Operation {
  opId: string;
  kind: OperationKind;
  /** running → (undoing) → finished; a finished one is moved to history. */
  status: "running" | "undoing";
  phase: string;
  phaseStartedAt: number;
  phaseDeadline: number | null;
  startedAt: number;
  requestId: string | null;
  reason: string;
  servers: Record<string, string>;
  timings: Record<string, number>;
  steps: OpStep[];
  seq: number;
  /** Point of no return: a set-read-only false was sent to the new primary. */
  promoted: boolean;
  cancelRequested: boolean;
  /** Why the operation is undoing (kept for the final event). */
  error: ErrorBody | null;
  plan: Plan;
}

export interface OperationSummary {
  opId: string;
  kind: OperationKind;
  state: OperationState;
  startedAt: number;
  endedAt: number;
  message: string;
  servers: Record<string, string>;
}

export interface DeciderState {
  version: 1;
  cluster: string;
  /** Latest sample per server per monitor. */
  samples: Record<string, Record<string, SampleRecord>>;
  /** Latest observation of a reachable server, from any monitor. */
  lastObservation: Record<string, ObservationRecord>;
  /** Last non-null Seconds_Behind_Master per server and connection (null once IO stops). */
  lastLag: Record<string, Record<string, number>>;
  heartbeats: Record<string, { heartbeat: AgentHeartbeat; receivedAt: number }>;
  readOnly: Record<string, ReadOnlyRecord>;
  /** When every monitor started failing to reach a server (cleared when one reaches it). */
  downSince: Record<string, number>;
  /** Last time a step on the server succeeded: proof it was reachable then. */
  stepContact: Record<string, number>;
  /**
   * Replication sources our own steps set up (change-master, reset-replication), believed
   * until a sample newer than the change shows the server as it is.
   */
  expectedSources: Record<string, { connection: string; source: string }[]>;
  primary: string | null;
  /** Former primaries (and half-repointed ones): fenced, rejoined only when proven safe. */
  exPrimaries: Record<string, { since: number; opId: string | null; reason: string }>;
  diverged: Record<
    string,
    {
      since: number;
      extraGtids: string;
      reason: string;
      situation: "OldPrimaryDiverged" | "ServerDiverged";
    }
  >;
  maintenance: Record<string, { since: number; reason: string }>;
  /** Active situation tags per subject (a server, or "*" for the cluster). */
  situations: Record<string, string[]>;
  /** Start times of failovers, for cooldown and the window limit. */
  failovers: number[];
  operation: Operation | null;
  history: OperationSummary[];
  /** Read-only fixes sent outside operations, per server. */
  fences: Record<string, { opId: string; sentAt: number }>;
  rejoinFailures: Record<string, number>;
  topology: { generation: number; key: string | null; last: ClusterTopology | null };
}

export function initialState(cluster: string): DeciderState {
  return {
    version: 1,
    cluster,
    samples: {},
    lastObservation: {},
    lastLag: {},
    heartbeats: {},
    readOnly: {},
    downSince: {},
    stepContact: {},
    expectedSources: {},
    primary: null,
    exPrimaries: {},
    diverged: {},
    maintenance: {},
    situations: {},
    failovers: [],
    operation: null,
    history: [],
    fences: {},
    rejoinFailures: {},
    topology: { generation: 0, key: null, last: null },
  };
}

/** A deep copy; the state is JSON by construction, so this is exact. */
export function cloneState(state: DeciderState): DeciderState {
  return JSON.parse(JSON.stringify(state)) as DeciderState;
}
