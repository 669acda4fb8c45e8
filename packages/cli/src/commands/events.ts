// marina events: what the deciders published about the cluster — the last N stored in
// MARINA_EVENTS and/or, with --follow, new ones as they come.
import { subjects } from "@marina/contracts";
import { type Context, printJsonLine } from "../context.js";
import { readPublished } from "../events-stream.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatPublished, type Published } from "../format/stream.js";

export interface EventsOptions {
  /** How many stored messages to show (the most recent). */
  readonly last: number;
  readonly follow: boolean;
  readonly since?: Date;
  /** Topology and operation messages too, not only events. */
  readonly all: boolean;
}

export async function eventsCommand(ctx: Context, o: EventsOptions): Promise<ExitCode> {
  const nc = await ctx.connect();
  const print = (p: Published) => {
    if (ctx.out.json) printJsonLine(ctx, jsonOf(p));
    else ctx.out.line(formatPublished(p, ctx.out.style));
  };
  // The stored ones are kept until caught up, so that only the last N are printed.
  const stored: Published[] = [];
  let live = false;
  await readPublished(
    nc,
    {
      cluster: ctx.cluster,
      ...(o.all ? {} : { filters: [subjects.events(ctx.cluster)] }),
      ...(o.since ? { since: o.since } : {}),
      follow: o.follow,
      signal: ctx.signal,
      onCaughtUp: () => {
        for (const p of stored.slice(-o.last)) print(p);
        stored.length = 0;
        live = true;
      },
      onInvalid: (subject, message) =>
        ctx.out.warn(`skipped an invalid message on ${subject}: ${message}`),
    },
    (p) => {
      if (live) print(p);
      else {
        stored.push(p);
        if (stored.length > o.last) stored.shift();
      }
    },
  );
  return EXIT.ok;
}

/** `--json`: one object per line, the payload as Marina published it. */
export function jsonOf(p: Published): Record<string, unknown> {
  const time = p.at.toISOString();
  switch (p.kind) {
    case "event":
      return { time, type: "event", payload: p.event };
    case "topology":
      return { time, type: "topology", payload: p.topology };
    case "operation":
      return { time, type: "operation", payload: p.operation };
    default: {
      const never: never = p;
      return never;
    }
  }
}
