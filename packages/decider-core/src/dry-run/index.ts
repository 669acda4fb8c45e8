import type { Command, CommandReply } from "@marina/contracts/commands";
import type { DryRunCandidate, DryRunReport } from "@marina/contracts/dry-run";
import type { UndoVerdict } from "@marina/contracts/executor";
import { chooseCandidateNow } from "../candidates.js";
import { answer } from "../commands/index.js";
import { ok } from "../commands/replies.js";
import { switchoverWaive } from "../commands/switchover.js";
import type { Env } from "../plans/common.js";
import { cloneState } from "../state.js";
import { fitReport } from "./fit.js";
import { rankingOf } from "./ranking.js";
import { simulate } from "./simulate.js";

// A dry-run: the command's own handler runs on a copy of the state, with the same context
// (an operation it starts gets the id DRY_RUN_OP_ID), and the operation engine plays the
// operation forward on that copy (simulate.ts). The copy and everything it would have sent
// are dropped: the answer is the only action, the state is left as it was.

export const DRY_RUN_OP_ID = "dry-run";

/** Every later phase takes these for granted. */
const ALWAYS_ASSUMED = [
  "every step and agent call succeeds at its first attempt",
  "nothing else changes meanwhile (no sample, no other command)",
];

function candidatesOf(env: Env, command: Command): DryRunCandidate[] | null {
  const { state, ctx } = env;
  const primary = state.primary;
  if (primary === null) return null;
  if (command.verb === "failover") {
    const p = command.payload;
    return rankingOf(
      chooseCandidateNow(state, ctx.config, ctx.now, primary, "failover", p.target ?? null),
      ctx.config,
    );
  }
  if (command.verb === "switchover") {
    const p = command.payload;
    const choice = chooseCandidateNow(
      state,
      ctx.config,
      ctx.now,
      primary,
      "switchover",
      p.target ?? null,
      switchoverWaive(p),
    );
    return rankingOf(choice, ctx.config);
  }
  return null;
}

/** flashback: the saved verdict on the server's extra transactions (null: none saved). */
function undoOf(env: Env, server: string): UndoVerdict | null {
  const dv = env.state.diverged[server];
  const save = env.state.binlogSaves?.[server];
  if (!dv || !save || save.extraGtids !== dv.extraGtids) return null;
  return save.undo ?? null;
}

/** What `command` would do now, computed on a copy of `env`'s state. */
export function dryRunReport(env: Env, requestId: string, command: Command): DryRunReport {
  const scratch: Env = {
    state: cloneState(env.state),
    ctx: { ...env.ctx, newOpId: () => DRY_RUN_OP_ID },
    opts: env.opts,
    actions: [],
    plans: env.plans,
  };
  const running = scratch.state.operation;
  const firstStep = running?.steps.length ?? 0;
  const firstCall = running?.agentCalls.length ?? 0;
  const reply = answer(scratch, requestId, command);
  const events = scratch.actions.flatMap((a) =>
    a.kind === "event"
      ? [{ situation: a.event.situation, server: a.event.server, reason: a.event.reason }]
      : [],
  );
  const base = {
    verb: command.verb,
    candidates: candidatesOf(env, command),
    events,
    ...(command.verb === "flashback" ? { undo: undoOf(env, command.payload.server) } : {}),
  };
  if (!reply.ok) {
    return {
      ...base,
      outcome: "refused",
      error: reply.error,
      message: reply.error.message,
      operation: null,
      assumptions: [],
    };
  }
  // The operation it started, or (cancel) the one it acts on — never an operation that was
  // already running when the command (pause, maintenance, ...) merely answered beside it.
  const started = scratch.state.operation?.opId === DRY_RUN_OP_ID ? scratch.state.operation : null;
  const cancelled =
    command.verb === "cancel" && running && reply.opId === running.opId
      ? (scratch.state.operation ?? running)
      : null;
  const op = started ?? cancelled;
  if (!op) {
    return {
      ...base,
      outcome: "accepted",
      error: null,
      message: reply.message,
      operation: null,
      assumptions: [],
    };
  }
  const own = op === running || op.opId === running?.opId;
  const sim = simulate(scratch, op, 0, own ? firstStep : 0, own ? firstCall : 0);
  return {
    ...base,
    outcome: "accepted",
    error: null,
    message: reply.message,
    operation: {
      kind: op.kind,
      reason: op.reason,
      servers: op.servers,
      phases: sim.phases,
      end: sim.end,
      stoppedAt: sim.stoppedAt,
    },
    assumptions: [...ALWAYS_ASSUMED, ...sim.assumptions],
  };
}

/** The reply to a dry-run: always ok (it was answered); the report says what would happen. */
export function dryRunReply(env: Env, requestId: string, command: Command): CommandReply {
  const report = fitReport(dryRunReport(env, requestId, command));
  const what =
    report.outcome === "refused"
      ? `would be refused (${report.error?.code}): ${report.message}`
      : `would be accepted: ${report.message}`;
  const message = `dry run, nothing done: ${command.verb} ${what}`;
  return ok(command.verb, message.length <= 4096 ? message : `${message.slice(0, 4095)}…`, {
    dryRun: report,
  });
}
