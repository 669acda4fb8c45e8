// marina topology: the last authoritative topology the leading decider published, as a tree.

import { type Context, printJson } from "../context.js";
import { lastTopology } from "../events-stream.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatTopologyTree } from "../format/topology.js";
import { formatClock } from "../format/units.js";

export async function topologyCommand(ctx: Context): Promise<ExitCode> {
  const nc = await ctx.connect();
  const last = await lastTopology(nc, ctx.cluster);
  if (last === null || last.kind !== "topology") {
    if (ctx.out.json) printJson(ctx, null);
    else
      ctx.out.warn(`no topology of ${ctx.cluster} has been published (is a decider leading it?)`);
    return EXIT.failed;
  }
  if (ctx.out.json) {
    printJson(ctx, last.topology);
    return EXIT.ok;
  }
  ctx.out.line(formatTopologyTree(last.topology, { style: ctx.out.style, unicode: ctx.out.isTTY }));
  ctx.out.line(ctx.out.style.dim(`published ${formatClock(last.at, ctx.now())}`));
  return EXIT.ok;
}
