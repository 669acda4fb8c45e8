import type { Command, CommandReply, ErrorBody } from "@marina/contracts/commands";
import {
  HISTORY_STEPS_MAX,
  type HistoryAgentCall,
  type HistoryHook,
  type HistoryPhase,
  type HistoryRequest,
  type HistoryStep,
  type OperationRecord,
} from "@marina/contracts/history";
import { type OperationKind, OperationKind as OperationKinds } from "@marina/contracts/operations";
import type { Env } from "./plans/common.js";
import { PRE_HOOK_PHASE } from "./plans/hooks.js";
import type { AgentCall, Operation, OpStep } from "./state.js";
import { describeStep } from "./steps.js";
import type { Action } from "./types.js";

// An operation's history record: built from the operation when it ends (engine/run.ts), or
// from a refused operation command (decide.ts). Everything comes from the state and ctx:
// the record is the same on a replay.

const PHASES_MAX = 64;
const CALLS_MAX = 64;

const iso = (ms: number) => new Date(ms).toISOString();
const clip = (text: string, max: number) => (text.length <= max ? text : text.slice(0, max));

/** The command as the decider received it, for the record of what it starts or is refused. */
export function historyRequest(
  command: Command,
  origin: { source: string | null; messageId: string | null } | undefined,
  now: number,
): HistoryRequest {
  return {
    verb: command.verb,
    payload: { ...command.payload },
    source: origin?.source ?? null,
    messageId: origin?.messageId ?? null,
    receivedAt: iso(now),
  };
}

/** Under NATS's default max payload (1 MiB) with room for the envelope. */
export const HISTORY_RECORD_MAX_BYTES = 900_000;
const CLIP = 200;

const short = (t: string) => clip(t, CLIP);
/** UTF-8 bytes of the record's JSON (no TextEncoder in the pure core). */
function size(r: OperationRecord): number {
  const json = JSON.stringify(r);
  let n = 0;
  for (const ch of json) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * The record as it fits in one message: unchanged when it does; else every step's
 * description and error message clipped, and then, if still too big, the last steps left
 * out (counted in stepsOmitted) — a failover with hundreds of long errors is the record
 * most wanted, so it is cut rather than lost.
 */
export function fitHistoryRecord(
  record: OperationRecord,
  maxBytes = HISTORY_RECORD_MAX_BYTES,
): OperationRecord {
  if (size(record) <= maxBytes) return record;
  const clipped: OperationRecord = {
    ...record,
    steps: record.steps.map((st) => ({
      ...st,
      description: short(st.description),
      error: st.error ? { ...st.error, message: short(st.error.message) } : null,
    })),
    agentCalls: record.agentCalls.map((c) => ({
      ...c,
      error: c.error ? { ...c.error, message: short(c.error.message) } : null,
    })),
  };
  let fitted = clipped;
  let keep = clipped.steps.length;
  while (size(fitted) > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2);
    fitted = {
      ...clipped,
      steps: clipped.steps.slice(0, keep),
      stepsOmitted: record.stepsOmitted + clipped.steps.length - keep,
    };
  }
  return fitted;
}

export function historyAction(raw: OperationRecord): Extract<Action, { kind: "history" }> {
  const record = fitHistoryRecord(raw);
  return {
    kind: "history",
    record,
    reason: `${record.kind} ${record.id} ${record.outcome}: ${record.message}`,
  };
}

/** Start and end of an answer to the last attempt; a stale end (before the send) is none. */
function timing(sentAt: number | null, endedAt: number | null | undefined) {
  const end = sentAt !== null && endedAt != null && endedAt >= sentAt ? endedAt : null;
  return {
    sentAt: sentAt === null ? null : iso(sentAt),
    endedAt: end === null ? null : iso(end),
    durationMs: end === null || sentAt === null ? null : end - sentAt,
  };
}

function stepRecord(s: OpStep): HistoryStep {
  return {
    id: clip(s.id, 128),
    phase: clip(s.phase, 64),
    key: clip(s.key, 128),
    server: s.server,
    kind: s.step.kind,
    description: clip(describeStep(s.step), 1024),
    status: s.status,
    attempts: s.attempts,
    bestEffort: s.bestEffort,
    ...timing(s.sentAt, s.endedAt),
    error: s.result?.error ?? null,
  };
}

function callRecord(c: AgentCall): HistoryAgentCall {
  return {
    key: clip(c.key, 128),
    phase: clip(c.phase, 64),
    host: c.host,
    server: c.server,
    action: c.action.action,
    status: c.status,
    attempts: c.attempts,
    ...timing(c.sentAt, c.endedAt),
    error: c.result?.error ?? null,
  };
}

const HOOKS_MAX = 16;
const text = (v: unknown, max: number) => (typeof v === "string" ? clip(v, max) : "");

/** What the record reads of a hook's step (an operation's, or a detached post hook's). */
export type HookStepView = Pick<
  OpStep,
  "step" | "phase" | "status" | "result" | "sentAt" | "endedAt"
>;

/** A run-hook or ask-veto step as the record shows it; null for any other step. */
export function hookRecord(s: HookStepView): HistoryHook | null {
  const data = s.result?.data ?? {};
  const end = timing(s.sentAt, s.endedAt);
  const blocks = s.phase === PRE_HOOK_PHASE && s.status !== "ok";
  if (s.step.kind === "run-hook") {
    return {
      hook: s.step.hook,
      phase: clip(s.phase, 64),
      status: s.status,
      vetoed: blocks,
      exitCode: typeof data.exitCode === "number" ? data.exitCode : null,
      signal: typeof data.signal === "string" ? clip(data.signal, 32) : null,
      timedOut: data.timedOut === true,
      stdout: text(data.stdout, 4096),
      stderr:
        text(data.stderr, 4096) ||
        (s.result?.error && s.status !== "ok" ? clip(s.result.error.message, 4096) : ""),
      durationMs: end.durationMs,
    };
  }
  if (s.step.kind === "ask-veto") {
    const replies = Array.isArray(data.replies) ? (data.replies as unknown[]) : [];
    const lines = replies.map((r) => {
      const x = (r ?? {}) as { veto?: unknown; reason?: unknown; responder?: unknown };
      return `${String(x.responder)}: ${x.veto === true ? "veto" : "ok"}${typeof x.reason === "string" && x.reason ? ` (${x.reason})` : ""}`;
    });
    return {
      hook: "veto",
      phase: clip(s.phase, 64),
      status: s.status,
      vetoed: blocks,
      exitCode: null,
      signal: null,
      timedOut: false,
      stdout: clip(lines.join("\n") || "no reply", 4096),
      stderr: s.status !== "ok" ? clip(s.result?.error?.message ?? s.status, 4096) : "",
      durationMs: end.durationMs,
    };
  }
  return null;
}

/** The hooks and veto requests the operation ran; undefined when none (the field is left out). */
export function hooksOf(op: Operation): HistoryHook[] | undefined {
  const hooks = op.steps
    .map(hookRecord)
    .filter((h) => h !== null)
    .slice(0, HOOKS_MAX);
  return hooks.length > 0 ? hooks : undefined;
}

/**
 * The phases in the order they ran: `timings` gets a phase's time when it ends (its keys
 * keep that order); a phase still without one (ended by a failure) comes from its steps.
 */
export function phasesOf(op: Operation): HistoryPhase[] {
  const names: string[] = [];
  const add = (name: string) => {
    if (name !== "" && name !== "total" && !names.includes(name)) names.push(name);
  };
  for (const name of Object.keys(op.timings)) add(name);
  for (const s of op.steps) add(s.phase);
  for (const c of op.agentCalls) add(c.phase);
  return names
    .slice(0, PHASES_MAX)
    .map((name) => ({ name: clip(name, 64), durationMs: op.timings[name] ?? 0 }));
}

/** The record of an operation that just ended (`finish` in engine/run.ts). */
export function operationRecord(
  op: Operation,
  env: Env,
  outcome: "succeeded" | "failed" | "cancelled",
  message: string,
  error: ErrorBody | null,
): OperationRecord {
  const { ctx } = env;
  const request = op.request ?? null;
  return {
    cluster: env.state.cluster,
    id: op.opId,
    kind: op.kind,
    outcome,
    trigger: request !== null || op.requestId !== null ? "command" : "automatic",
    reason: clip(op.reason, 1024),
    message: clip(message, 4096),
    error,
    request,
    decider: clip(ctx.source, 200),
    epoch: ctx.epoch,
    servers: op.servers,
    startedAt: iso(op.startedAt),
    endedAt: iso(ctx.now),
    durationMs: Math.max(0, ctx.now - op.startedAt),
    phases: phasesOf(op),
    steps: op.steps.slice(0, HISTORY_STEPS_MAX).map(stepRecord),
    stepsOmitted: Math.max(0, op.steps.length - HISTORY_STEPS_MAX),
    agentCalls: op.agentCalls.slice(0, CALLS_MAX).map(callRecord),
    ...withHooks(op),
  };
}

function withHooks(op: Operation): { hooks?: HistoryHook[] } {
  const hooks = hooksOf(op);
  return hooks ? { hooks } : {};
}

const isOperationKind = (verb: string): verb is OperationKind =>
  (OperationKinds.options as readonly string[]).includes(verb);

/** FNV-1a, 32 bits: a short deterministic tag for a refusal's id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Servers a command names: its `target`, `server` and (rebuild) `source`. */
function serversOf(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const role of ["target", "server", "source"]) {
    const v = payload[role];
    if (typeof v === "string") out[role] = v;
  }
  return out;
}

/**
 * The record of a refused operation command (failover, switchover, rejoin, rebuild): part
 * of an incident's story. Null for other verbs, for accepted commands, and for a dry run
 * (a question, not a request). Its id is derived from the request (not ctx.newOpId, which
 * only operations use), so a replay gives the same one.
 */
export function refusalRecord(
  env: Env,
  requestId: string,
  request: HistoryRequest,
  reply: CommandReply,
): OperationRecord | null {
  if (reply.ok || !isOperationKind(request.verb)) return null;
  if (request.payload.dryRun === true) return null;
  const { ctx } = env;
  const tag = fnv1a(`${requestId}\u0000${request.messageId ?? ""}`).toString(36);
  const asked = request.payload.reason;
  return {
    cluster: env.state.cluster,
    id: `refused-${ctx.now.toString(36)}-${tag}`,
    kind: request.verb,
    outcome: "refused",
    trigger: "command",
    reason: clip(typeof asked === "string" ? asked : `${request.verb} requested`, 1024),
    message: clip(reply.error.message, 4096),
    error: reply.error,
    request,
    decider: clip(ctx.source, 200),
    epoch: ctx.epoch,
    servers: serversOf(request.payload),
    startedAt: iso(ctx.now),
    endedAt: iso(ctx.now),
    durationMs: 0,
    phases: [],
    steps: [],
    stepsOmitted: 0,
    agentCalls: [],
  };
}
