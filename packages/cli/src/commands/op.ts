// marina op <opId>: an operation's phases from its start (the stream keeps them), then on to
// its outcome; with --no-wait, what was published so far.
import { type OperationEvent, OpId, subjects } from "@marina/contracts";
import { sleep } from "@marina/runtime";
import { type Context, printJson } from "../context.js";
import { lastPublished, readPublished } from "../events-stream.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import { type FollowEnd, followOperation } from "../follow-operation.js";
import { isFinal } from "../format/operation.js";
import { OperationPrinter } from "./operation-printer.js";
import { exitOfState, type VerbOptions } from "./verb.js";

export async function opCommand(ctx: Context, opId: string, o: VerbOptions): Promise<ExitCode> {
  if (!OpId.safeParse(opId).success) {
    throw new CliError("USAGE", `<opId>: "${opId}" is not an operation id`, { path: "<opId>" });
  }
  const nc = await ctx.connect();
  if (!(await published(ctx, opId))) {
    if (ctx.out.json) printJson(ctx, { operation: null });
    else ctx.out.warn(`no message of operation ${opId} of cluster ${ctx.cluster}`);
    return EXIT.failed;
  }
  const printer = new OperationPrinter(ctx.out);
  let last: OperationEvent | null = null;
  let end: FollowEnd = "done";
  const onEvent = (ev: OperationEvent, at: Date) => {
    last = ev;
    printer.onEvent(ev, at);
  };
  if (o.wait) {
    const followed = await followOperation(nc, ctx.cluster, opId, {
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      onEvent,
    });
    end = followed.end;
  } else {
    const filters = [subjects.op(ctx.cluster, opId)];
    await readPublished(nc, { cluster: ctx.cluster, filters, follow: false }, (p) => {
      if (p.kind === "operation") onEvent(p.operation, p.at);
    });
  }
  const seen = last as OperationEvent | null;
  if (seen !== null && (end !== "done" || isFinal(seen))) printer.finish(end, seen, opId);
  if (ctx.out.json) printJson(ctx, { operation: seen, phases: printer.phases });
  if (!o.wait) return EXIT.ok;
  return exitOfState("succeeded", end, seen);
}

/** Whether the operation published anything (a moment's grace for one that just started). */
async function published(ctx: Context, opId: string): Promise<boolean> {
  const nc = await ctx.connect();
  const subject = subjects.op(ctx.cluster, opId);
  for (let attempt = 0; attempt < 3; attempt++) {
    if ((await lastPublished(nc, subject)) !== null) return true;
    await sleep(500);
  }
  return false;
}
