// marina history: the operations' records kept in MARINA_HISTORY — a table of the last N
// (refusals included), or with --op one operation's request, phases and steps with timings.
import { OpId } from "@marina/contracts";
import { type Context, printJson } from "../context.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import { formatHistoryRecord, formatHistoryTable } from "../format/history.js";
import { readHistory, readHistoryRecord } from "../history-stream.js";

export interface HistoryOptions {
  readonly limit: number;
  readonly since?: Date;
  /** One operation's record. */
  readonly op?: string;
}

export async function historyCommand(ctx: Context, o: HistoryOptions): Promise<ExitCode> {
  if (o.op !== undefined) return oneRecord(ctx, o.op);
  const nc = await ctx.connect();
  const records = await readHistory(nc, {
    cluster: ctx.cluster,
    limit: o.limit,
    ...(o.since ? { since: o.since } : {}),
    onInvalid: (subject, message) =>
      ctx.out.warn(`skipped an invalid record on ${subject}: ${message}`),
  });
  const { out } = ctx;
  if (out.json) {
    printJson(ctx, { cluster: ctx.cluster, records });
    return EXIT.ok;
  }
  if (records.length === 0) {
    out.line(`no operation recorded for cluster ${ctx.cluster}${o.since ? " in that time" : ""}`);
    return EXIT.ok;
  }
  out.line(
    formatHistoryTable(records, {
      boxed: out.isTTY,
      style: out.style,
      now: ctx.now(),
      // A terminal gets rows that fit; a pipe gets every word (scripts grep it).
      width: out.isTTY ? out.columns : Number.POSITIVE_INFINITY,
    }),
  );
  return EXIT.ok;
}

async function oneRecord(ctx: Context, id: string): Promise<ExitCode> {
  if (!OpId.safeParse(id).success) {
    throw new CliError("USAGE", `--op: "${id}" is not an operation id`, { path: "--op" });
  }
  const nc = await ctx.connect();
  const record = await readHistoryRecord(nc, ctx.cluster, id);
  const { out } = ctx;
  if (out.json) printJson(ctx, { record });
  else if (record === null) out.warn(`no record of operation ${id} in cluster ${ctx.cluster}`);
  else {
    for (const l of formatHistoryRecord(record, {
      boxed: out.isTTY,
      style: out.style,
      now: ctx.now(),
    })) {
      out.line(l);
    }
  }
  return record === null ? EXIT.failed : EXIT.ok;
}
