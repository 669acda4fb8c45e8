// marina status: the decider's `cmd.status` answer — the cluster's state, its running
// operation, one row per server.

import { listenAgents } from "../agents.js";
import { type Context, printJson } from "../context.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import { formatRefusal } from "../format/refusal.js";
import { formatStatus } from "../format/status.js";
import { requestCommand } from "../request.js";
import { StatusData } from "../status-reply.js";

export async function statusCommand(ctx: Context): Promise<ExitCode> {
  const nc = await ctx.connect();
  // Listening first: the heartbeats that name each agent's servers come once a second.
  const agents = ctx.out.json ? undefined : listenAgents(nc);
  try {
    const reply = await requestCommand(nc, ctx.cluster, "status", {});
    if (!reply.ok) {
      if (ctx.out.json) printJson(ctx, { reply });
      else for (const l of formatRefusal("status", reply.error, ctx.out.style)) ctx.out.warn(l);
      return EXIT.refused;
    }
    const parsed = StatusData.safeParse(reply.data ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError(
        "BAD_REPLY",
        `the decider's status is not what this marina reads (${issue?.path.join(".")}: ${issue?.message})`,
      );
    }
    if (ctx.out.json) {
      printJson(ctx, reply.data);
      return EXIT.ok;
    }
    const heardOf = Object.entries(parsed.data.agents).flatMap(([h, age]) =>
      age === null ? [] : [h],
    );
    await agents?.heard(heardOf);
    ctx.out.line(
      formatStatus({
        status: parsed.data,
        agentOf: agents?.agentOf() ?? {},
        now: ctx.now(),
        style: ctx.out.style,
        boxed: ctx.out.isTTY,
      }),
    );
    return EXIT.ok;
  } finally {
    agents?.close();
  }
}
