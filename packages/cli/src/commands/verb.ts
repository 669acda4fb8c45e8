// The command verbs (failover, switchover, rejoin, rebuild, cancel, maintenance,
// reset-failover-limits): send the command, print Marina's answer, and — unless --no-wait —
// follow the operation it started to its outcome.
import type { CommandReply, CommandVerb, DryRunReport, OperationEvent } from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Context, printJson } from "../context.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { type FollowEnd, followOperation } from "../follow-operation.js";
import { formatDryRun } from "../format/dry-run.js";
import { formatRefusal } from "../format/refusal.js";
import { requestCommand } from "../request.js";
import { OperationPrinter } from "./operation-printer.js";

export interface VerbOptions {
  readonly wait: boolean;
}

export async function verbCommand(
  ctx: Context,
  verb: CommandVerb,
  payload: Record<string, unknown>,
  o: VerbOptions,
): Promise<ExitCode> {
  const nc = await ctx.connect();
  const reply = await requestCommand(nc, ctx.cluster, verb, payload);
  const { out } = ctx;
  if (reply.ok && reply.dryRun) return printDryRun(ctx, reply, reply.dryRun);
  if (!reply.ok) {
    if (out.json) printJson(ctx, { reply });
    else for (const l of formatRefusal(verb, reply.error, out.style)) out.warn(l);
    return EXIT.refused;
  }
  if (!out.json && o.wait && reply.opId !== undefined) out.line(reply.message);
  return followAccepted(ctx, nc, verb, reply, o);
}

/**
 * An accepted command's end: its message (and operation id) with --no-wait, else the
 * operation it started followed to its outcome (whose state is the exit code).
 */
export async function followAccepted(
  ctx: Context,
  nc: NatsConnection,
  verb: CommandVerb,
  reply: Extract<CommandReply, { ok: true }>,
  o: VerbOptions,
): Promise<ExitCode> {
  const { out } = ctx;
  if (!o.wait || reply.opId === undefined) {
    if (out.json) printJson(ctx, { reply });
    else out.line(reply.opId ? `${reply.message} (operation ${reply.opId})` : reply.message);
    return EXIT.ok;
  }
  const printer = new OperationPrinter(out);
  const followed = await followOperation(nc, ctx.cluster, reply.opId, {
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
    onEvent: (ev, at) => printer.onEvent(ev, at),
    onInvalid: (subject, message) =>
      out.warn(`skipped an invalid message on ${subject}: ${message}`),
  });
  printer.finish(followed.end, followed.last, reply.opId);
  if (out.json) {
    printJson(ctx, {
      reply,
      operation: followed.last,
      phases: printer.phases,
      ...(followed.end !== "done" ? { waiting: followed.end } : {}),
    });
  }
  return exitOf(verb, followed.end, followed.last);
}

/** A dry-run's answer: 0 when the command would be accepted, 3 when it would be refused. */
export function printDryRun(ctx: Context, reply: CommandReply, report: DryRunReport): ExitCode {
  if (ctx.out.json) printJson(ctx, { reply });
  else for (const l of formatDryRun(report, ctx.out.style)) ctx.out.line(l);
  return report.outcome === "refused" ? EXIT.refused : EXIT.ok;
}

/** The exit code of a followed operation; `cancel` succeeds when the operation was cancelled. */
export function exitOf(verb: CommandVerb, end: FollowEnd, last: OperationEvent | null): ExitCode {
  return exitOfState(verb === "cancel" ? "cancelled" : "succeeded", end, last);
}

export function exitOfState(
  wanted: OperationEvent["state"],
  end: FollowEnd,
  last: OperationEvent | null,
): ExitCode {
  if (end === "timeout") return EXIT.timeout;
  if (end === "interrupted") return EXIT.interrupted;
  return last?.state === wanted ? EXIT.ok : EXIT.failed;
}
