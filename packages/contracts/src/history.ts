import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { ErrorBody, VERB_MAX } from "./error-body.js";
import { HookName } from "./hooks.js";
import { ClusterName, Epoch, HostName, Iso, OpId, ServerName } from "./names.js";
import { OperationKind } from "./operations.js";

// One record per finished operation (and per refused operation command), on
// `marina.v1.<cluster>.history.<id>` in stream MARINA_HISTORY: what was asked, by whom as the
// request says, what ran with its timings, and how it ended. It is the audit trail
// `marina history` reads; nothing in it is a secret (steps carry no credentials).

/** How an operation ended; `refused`: the command was answered with an error, nothing ran. */
export const HistoryOutcome = z.enum(["succeeded", "failed", "cancelled", "refused"]);

/** Started by Marina on its own (a failover, an auto rejoin or rebuild), or by a command. */
export const HistoryTrigger = z.enum(["automatic", "command"]);

/** Most steps a record lists (a rebuild or a failover of 64 servers stays well below). */
export const HISTORY_STEPS_MAX = 512;

/**
 * A command as the decider received it. `source` and `messageId` are what the sender's
 * envelope states (null for a bare payload): self-declared, not authenticated — NATS
 * permissions decide who may send a command at all.
 */
export const HistoryRequest = z.strictObject({
  verb: z.string().max(VERB_MAX),
  payload: z.record(z.string(), z.unknown()),
  source: z.string().max(200).nullable(),
  messageId: z.string().max(128).nullable(),
  receivedAt: Iso,
});

export const HistoryPhase = z.strictObject({
  name: z.string().max(64),
  /** Time spent in the phase (summed when a new leader resumed it). */
  durationMs: z.number().min(0),
});

const Status = z.enum(["waiting", "sent", "running", "ok", "failed", "skipped"]);

export const HistoryStep = z.strictObject({
  id: z.string().max(128),
  phase: z.string().max(64),
  /** The plan's name of the step, unique within its phase. */
  key: z.string().max(128),
  server: ServerName,
  /** The executor step kind (`fence`, `change-master`, ...). */
  kind: z.string().max(64),
  /** What it does, as the decider logs it. */
  description: z.string().max(1024),
  status: Status,
  attempts: z.number().int().min(0),
  bestEffort: z.boolean(),
  /** The last attempt: sent, and answered (null: never sent, or no answer). */
  sentAt: Iso.nullable(),
  endedAt: Iso.nullable(),
  durationMs: z.number().min(0).nullable(),
  error: ErrorBody.nullable(),
});

export const HistoryAgentCall = z.strictObject({
  key: z.string().max(128),
  phase: z.string().max(64),
  host: HostName,
  server: ServerName,
  action: z.string().max(64),
  status: Status,
  attempts: z.number().int().min(0),
  sentAt: Iso.nullable(),
  endedAt: Iso.nullable(),
  durationMs: z.number().min(0).nullable(),
  error: ErrorBody.nullable(),
});

/** A hook or a veto request the operation ran (from its run-hook and ask-veto steps). */
export const HistoryHook = z.strictObject({
  /** The hook's name, or `veto` for the NATS veto subject. */
  hook: z.union([HookName, z.literal("veto")]),
  phase: z.string().max(64),
  status: Status,
  /** Blocked the operation (a veto obeyed), or would have (`forced`: recorded only). */
  vetoed: z.boolean(),
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  timedOut: z.boolean(),
  /** The hook's stdout and stderr (clipped), or the veto replies in one line each. */
  stdout: z.string().max(4096),
  stderr: z.string().max(4096),
  durationMs: z.number().min(0).nullable(),
});

export const OperationRecord = z.strictObject({
  cluster: ClusterName,
  /** The operation's id; a refused command gets an id of its own. */
  id: OpId,
  kind: OperationKind,
  outcome: HistoryOutcome,
  trigger: HistoryTrigger,
  /** Why it ran (the decider's reason: `primary db1 failed: …`, `switchover from db1 to db2`). */
  reason: z.string().max(1024),
  /** The decider's last word on it. */
  message: z.string().max(4096),
  /** Why it failed, was cancelled or refused; null when it succeeded. */
  error: ErrorBody.nullable(),
  /** The command that started (or asked for) it; null for an automatic one. */
  request: HistoryRequest.nullable(),
  /** The decider that finished it (its envelope source) and its lease epoch then. */
  decider: z.string().max(200),
  epoch: Epoch,
  /** Servers concerned, by role: `failed`, `candidate`, `old`, `target`, `server`, … */
  servers: z.record(z.string().max(32), ServerName),
  startedAt: Iso,
  endedAt: Iso,
  durationMs: z.number().min(0),
  /** In the order they ran. */
  phases: z.array(HistoryPhase).max(64),
  /** Every step the operation sent (or planned and skipped), in the order they were planned. */
  steps: z.array(HistoryStep).max(HISTORY_STEPS_MAX),
  /** Steps left out beyond HISTORY_STEPS_MAX. */
  stepsOmitted: z.number().int().min(0),
  /** Requests to host agents (rebuilds, STONITH). */
  agentCalls: z.array(HistoryAgentCall).max(64),
  /** Hooks and veto requests, in the order they ran; absent when none ran. */
  hooks: z.array(HistoryHook).max(16).optional(),
});

export const HistoryMessage = envelopeOf("history", OperationRecord);

export type HistoryOutcome = z.infer<typeof HistoryOutcome>;
export type HistoryTrigger = z.infer<typeof HistoryTrigger>;
export type HistoryRequest = z.infer<typeof HistoryRequest>;
export type HistoryPhase = z.infer<typeof HistoryPhase>;
export type HistoryStep = z.infer<typeof HistoryStep>;
export type HistoryAgentCall = z.infer<typeof HistoryAgentCall>;
export type HistoryHook = z.infer<typeof HistoryHook>;
export type OperationRecord = z.infer<typeof OperationRecord>;
