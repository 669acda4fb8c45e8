import type { AgentAction, AgentHeartbeat } from "@marina/contracts/agent";
import type { Compression, ErrorBody } from "@marina/contracts/commands";
import type { ExecStep, TableRef, UndoVerdict } from "@marina/contracts/executor";
import type { HealthSample, ServerObservation } from "@marina/contracts/health";
import type { HistoryRequest, OperationRecord } from "@marina/contracts/history";
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
  /** When it was received. */
  at: number;
  monitor: string;
  /**
   * When the probe began, as far as we can tell: `at` minus the probe's latency. A probe
   * that began before one of our changes may show the server as it was before it. Absent in
   * states persisted by older versions (then `at`).
   */
  takenAt?: number;
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
  /** When the last answer came (for the history); absent in states of older versions. */
  endedAt?: number | null;
}

export interface FailoverPlan {
  kind: "failover";
  failed: string;
  target: string | null;
  manual: boolean;
  /** A manual failover told to promote even what loses writes after all went down. */
  acceptLoss?: boolean;
  /** The failed primary was reachable (forced failover): it is fenced first. */
  fenceOld: boolean;
  candidate: string | null;
  /** The candidate's connection to the failed primary. */
  connection: string | null;
  pulls: { from: string; connection: string; pos: string }[];
  repoint: { server: string; connection: string; useGtid: "slave_pos" | "current_pos" }[];
  /** Replicas left alone, with why (maintenance, not inspected, ...). */
  skipped: { server: string; why: string }[];
  /** Why no replica is left acknowledging the failed primary (set before the promotion). */
  settled?: string;
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

export interface RebuildPlan {
  kind: "rebuild";
  target: string;
  source: string;
  targetHost: string;
  sourceHost: string;
  /** The source was the primary when the rebuild started (its replication is not checked). */
  sourceIsPrimary: boolean;
  compression: Compression;
  tls: boolean;
  /** Started by failover.autoRebuild rather than by a command. */
  auto: boolean;
  /** Where the target's agent listens, from its reply to receive-backup. */
  to: { address: string; port: number } | null;
  /** The backup's position (xtrabackup_binlog_info), from the target's final result. */
  gtid: string | null;
  /** The primary the target was attached to. */
  primary: string | null;
}

/**
 * A flashback (plans/flashback.ts): a diverged server's extra transactions undone, its GTID
 * state brought back to the fork point, rejoined, its touched tables compared with the primary.
 */
export interface FlashbackPlan {
  kind: "flashback";
  server: string;
  primary: string;
  /** The divergence undone (the diverged record's extraGtids) and where it forks. */
  extraGtids: string;
  forkPoint: string;
  /** The tables the extra transactions touch (the save's verdict), compared at the end. */
  tables: TableRef[];
  /** Where the save is (BinlogsSaved), for the messages. */
  savePath: string | null;
  /** The diverged record's situation was OldPrimaryDiverged. */
  wasPrimary: boolean;
  auto: boolean;
  /** The rejoin's connection (the default one) and mode. */
  connection: string;
  useGtid: "slave_pos" | "current_pos";
}

export type Plan = FailoverPlan | SwitchoverPlan | RejoinPlan | RebuildPlan | FlashbackPlan;

export type AgentCallStatus = "waiting" | "sent" | "running" | "ok" | "failed" | "skipped";

/**
 * A request to a host agent, tracked like a step. Long actions (send-backup,
 * receive-backup) answer twice: an early reply (accepted, status `running`) and a final
 * result on the host's `.done` subject; short ones answer once.
 */
export interface AgentCall {
  /** The agent-side operation id; a request sent again with it is answered, not re-run. */
  id: string;
  /** Name the plan gave the call, unique within the operation. */
  key: string;
  /** Phase that sends it and waits for its reply. */
  phase: string;
  /** Phase that waits for a long call's final result (null: the reply is the result). */
  until: string | null;
  host: string;
  server: string;
  action: AgentAction;
  long: boolean;
  /** A failure is recorded, it does not fail the operation. */
  bestEffort: boolean;
  /** Its progress events are forwarded as the operation's progress. */
  reportsProgress: boolean;
  status: AgentCallStatus;
  attempts: number;
  sentAt: number | null;
  /** How long the edge waits for the reply before reporting TIMEOUT. */
  timeoutMs: number;
  /** The early reply of a long call (port, address). */
  reply: { data: Record<string, unknown> } | null;
  /** The final result. */
  result: { data: Record<string, unknown>; error: ErrorBody | null } | null;
  /** When the final result came (for the history); absent in states of older versions. */
  endedAt?: number | null;
}

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
  /** Requests to host agents (rebuild); empty for SQL-only operations. */
  agentCalls: AgentCall[];
  seq: number;
  /** Point of no return: a set-read-only false was sent to the new primary. */
  promoted: boolean;
  cancelRequested: boolean;
  /** Why the operation is undoing (kept for the final event). */
  error: ErrorBody | null;
  plan: Plan;
  /**
   * The command that started it, for its history record; null for an automatic one, absent
   * in states of older versions.
   */
  request?: HistoryRequest | null;
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

/**
 * The format of the state as persisted (KV `marina_state`); services/decider's
 * state-format.ts reads older ones and migrates them. Bump it with a migration there when
 * the shape changes in a way the previous release could not read.
 */
export const STATE_FORMAT = 3;

/** Automation paused by `cmd.pause` (see pause.ts): nothing starts on its own until resumed. */
export interface PauseRecord {
  since: number;
  reason: string;
  /** Who asked, as the request said it (`requestedBy`); null when it did not. */
  by: string | null;
}

/**
 * Automatic failover held after a veto (plans/hooks.ts): until `until`, the failover of
 * `primary` is blocked (FailoverBlocked, code `veto`), then tried again.
 */
export interface VetoHold {
  primary: string;
  until: number;
  opId: string;
  reason: string;
  details: Record<string, string | number | boolean | null>;
}

/**
 * A post hook running after its operation ended (engine/post-hooks.ts): one exec step sent
 * outside any operation, its result added to the operation's record when it comes.
 */
export interface PostHookRun {
  /** The ended operation's id (the step's opId: the hook's MARINA_OPERATION_ID). */
  opId: string;
  stepId: string;
  server: string;
  step: ExecStep;
  attempts: number;
  sentAt: number;
  /** How long the edge waits for the reply; past it (plus a margin), the hook is given up. */
  timeoutMs: number;
  /** The operation's record as published at its end, published again with the hook. */
  record: OperationRecord;
}

export interface DeciderState {
  version: typeof STATE_FORMAT;
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
   * MASTER_DELAY per server and connection (delayed connections only), from the monitors'
   * samples that carry SQL_Delay; an inspection, which does not, leaves it as it is.
   * Knowledge, not persisted (a new leader has its own from the samples).
   */
  delays?: Record<string, Record<string, number>> | null;
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
      /**
       * Found applying errant transactions while replicating from the primary
       * (diagnose/replicas.ts): cleared again if the primary turns out to have them.
       */
      errant?: boolean;
    }
  >;
  /**
   * Replicas seen with errant GTIDs not yet sure (diagnose/replicas.ts errantSure): the
   * GTIDs and when a sample first showed them. Knowledge, not persisted.
   */
  errantSeen?: Record<string, { extra: string; at: number }> | null;
  maintenance: Record<string, { since: number; reason: string }>;
  /** Active situation tags per subject (a server, or "*" for the cluster). */
  situations: Record<string, string[]>;
  /** Start times of failovers, for cooldown and the window limit. */
  failovers: number[];
  operation: Operation | null;
  history: OperationSummary[];
  /** Read-only fixes sent outside operations, per server. */
  fences: Record<string, { opId: string; sentAt: number }>;
  /** Writes turned back on for a read-only primary (see restore-writes.ts), per server. */
  writesRestored: Record<string, { opId: string; sentAt: number }>;
  /** Strict semi-sync settings sent to the running primary (see durability.ts), per server. */
  durabilityEnforced: Record<string, { opId: string; sentAt: number }>;
  rejoinFailures: Record<string, number>;
  /** When an automatic rebuild of a server last failed (failover.autoRebuild backs off). */
  rebuildFailures: Record<string, number>;
  topology: { generation: number; key: string | null; last: ClusterTopology | null };
  /** Set while automation is paused; null otherwise (absent in states of format 2 and older). */
  paused: PauseRecord | null;
  /** Set while a veto holds automatic failover; absent in states of older releases. */
  vetoHold?: VetoHold | null;
  /**
   * Each server's last known role and GTID positions (policies/all-down.ts), persisted so a
   * decider that restarts after the whole cluster went down knows what the last primary
   * had. Refreshed at most every LAST_KNOWN_EVERY_MS per server, at once on a role change.
   */
  lastKnown?: Record<string, LastKnown>;
  /** Set when every server was down at once, until the last primary is back or replaced. */
  allDown?: AllDown | null;
  /** Post hooks running, by operation id; absent in states of older releases. */
  postHooks?: Record<string, PostHookRun>;
  /** Saves of diverged servers' extra transactions (save-binlogs.ts), per server. */
  binlogSaves?: Record<string, BinlogSave>;
  /**
   * Flashbacks that failed, per server, with the divergence they were for:
   * failover.autoFlashback does not try that divergence again (autoRebuild may).
   */
  flashbackFailures?: Record<string, { at: number; extraGtids: string; opId: string }>;
}

export interface BinlogSave {
  opId: string;
  sentAt: number;
  /** The divergence saved: a server diverged again (other extraGtids) is saved again. */
  extraGtids: string;
  attempts: number;
  /** Sent, no result yet. */
  pending: boolean;
  savedAt: number | null;
  path: string | null;
  /** Whether the saved extra transactions can be flashed back (absent: not judged). */
  undo?: UndoVerdict | null;
}

export interface LastKnown {
  role: "primary" | "replica" | "other";
  gtidBinlogPos: string;
  gtidCurrentPos: string;
  /** When it was last seen so (decider's clock). */
  at: number;
}

export interface AllDown {
  since: number;
  /** The last primary, and the GTID position it was last seen to have. */
  primary: string;
  primaryGtid: string;
  /** When that position was seen. */
  seenAt: number;
}

export function initialState(cluster: string): DeciderState {
  return {
    version: STATE_FORMAT,
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
    writesRestored: {},
    durabilityEnforced: {},
    rejoinFailures: {},
    rebuildFailures: {},
    topology: { generation: 0, key: null, last: null },
    paused: null,
    vetoHold: null,
    postHooks: {},
    binlogSaves: {},
    flashbackFailures: {},
  };
}

/** A deep copy; the state is JSON by construction, so this is exact. */
export function cloneState(state: DeciderState): DeciderState {
  return JSON.parse(JSON.stringify(state)) as DeciderState;
}

/** Fills fields that a state persisted by an older version lacks (in place; returns it). */
export function upgradeState(state: DeciderState): DeciderState {
  const loose = state as Partial<DeciderState>;
  loose.rebuildFailures ??= {};
  loose.writesRestored ??= {};
  loose.durabilityEnforced ??= {};
  loose.paused ??= null;
  loose.vetoHold ??= null;
  loose.postHooks ??= {};
  loose.binlogSaves ??= {};
  loose.flashbackFailures ??= {};
  const op = state.operation as
    | (Omit<Operation, "agentCalls"> & { agentCalls?: AgentCall[] })
    | null;
  if (op) op.agentCalls ??= [];
  return state;
}
