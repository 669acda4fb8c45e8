import { z } from "zod";
import { AgentAction } from "./agent.js";
import { ErrorBody, VERB_MAX } from "./error-body.js";
import { ExecStep, UndoVerdict } from "./executor.js";
import { HostName, ServerName } from "./names.js";
import { OperationKind, OperationState } from "./operations.js";

// The answer to a command sent with `dryRun: true` (the `dryRun` field of an ok command
// reply): what the leading decider would do now, computed by the same core code that would
// run it, on a copy of its state that is then dropped. docs/cli.md, "Dry-run".

const text = (max: number) => z.string().max(max);

/** One executor step as the plan would send it. */
export const DryRunStep = z.strictObject({
  /** The plan's key for the step (unique within its phase). */
  key: text(256),
  server: ServerName,
  /** The step itself, as it would go to the executors (`exec-request.json`). */
  step: ExecStep,
  description: text(1024),
  /** Keys of the steps of the same phase it waits for. */
  after: z.array(text(256)).max(64),
  /** A failure does not fail the phase. */
  bestEffort: z.boolean(),
  /** Sending it is the point of no return (the new primary becomes writable). */
  promotes: z.boolean(),
  /**
   * The statements the executor runs for it, parameters filled in (the replication
   * password never): each step reads the server first and runs only what is not already so.
   */
  sql: z.array(text(2048)).max(32),
});

/** One call to a host agent as the plan would send it. */
export const DryRunAgentCall = z.strictObject({
  key: text(256),
  host: HostName,
  server: ServerName,
  action: AgentAction,
  description: text(1024),
  /** The programs the agent runs on its host for it (mariadb-backup, socat, ...). */
  programs: z.array(text(1024)).max(16),
});

export const DryRunPhase = z.strictObject({
  name: text(64),
  /**
   * True for the phase the command would start with now: its steps are exactly what would be
   * sent. False for a later phase: built on results assumed from what is known now (every
   * step succeeding, the positions last sampled), listed in `dependsOn`.
   */
  known: z.boolean(),
  /** The results not yet known that this phase is built on. */
  dependsOn: z.array(text(1024)).max(64),
  message: text(4096),
  /** The phase's deadline from its start; null: none. */
  deadlineMs: z.number().int().min(0).nullable(),
  steps: z.array(DryRunStep).max(512),
  agentCalls: z.array(DryRunAgentCall).max(16),
});

/** A replica in the candidate ranking (failover, switchover). */
export const DryRunCandidate = z.strictObject({
  server: ServerName,
  /** 1 = the best; null = excluded. */
  rank: z.number().int().min(1).nullable(),
  /** GTIDs it received from the primary (what it will have once drained). */
  position: text(4096),
  /** The one the command would pick (or the target it names, when eligible). */
  chosen: z.boolean(),
  /** Why it ranks where it does, or why it is excluded. */
  reason: text(1024),
});

export const DryRunOperation = z.strictObject({
  kind: OperationKind,
  reason: text(4096),
  servers: z.record(text(64), ServerName),
  phases: z.array(DryRunPhase).max(64),
  /**
   * How the operation would end if every assumption held; null when the simulation stopped
   * first (it waits on something only the world can answer: `stoppedAt` says what).
   */
  end: z.strictObject({ state: OperationState, message: text(4096) }).nullable(),
  stoppedAt: text(1024).nullable(),
});

export const DryRunReport = z.strictObject({
  verb: text(VERB_MAX),
  /** `refused`: the real command would be refused now, with `error`; else `accepted`. */
  outcome: z.enum(["accepted", "refused"]),
  error: ErrorBody.nullable(),
  /** The message the real command's reply would carry. */
  message: text(4096),
  /** The operation it would start (or, for cancel, the steps the cancel would send). */
  operation: DryRunOperation.nullable(),
  /** The ranking of the replicas, for failover and switchover; null for other verbs. */
  candidates: z.array(DryRunCandidate).max(64).nullable(),
  /** Situation events the command would publish (pause, a divergence a rejoin finds, ...). */
  events: z
    .array(
      z.strictObject({ situation: text(64), server: ServerName.nullable(), reason: text(4096) }),
    )
    .max(64),
  /**
   * flashback: the extra transactions to undo with the verdict on each, from the last save
   * (absent for other verbs, null when there is no saved verdict).
   */
  undo: UndoVerdict.nullable().optional(),
  /** What the later phases take for granted. */
  assumptions: z.array(text(1024)).max(32),
});

export type DryRunStep = z.infer<typeof DryRunStep>;
export type DryRunAgentCall = z.infer<typeof DryRunAgentCall>;
export type DryRunPhase = z.infer<typeof DryRunPhase>;
export type DryRunCandidate = z.infer<typeof DryRunCandidate>;
export type DryRunOperation = z.infer<typeof DryRunOperation>;
export type DryRunReport = z.infer<typeof DryRunReport>;
