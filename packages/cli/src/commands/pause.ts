// marina pause / resume: automation off or on again, for the current cluster or (--all) for
// every cluster a live decider is configured with. Answered at once, no operation.
import { hostname, userInfo } from "node:os";
import type { CommandReply } from "@marina/contracts";
import type { Command } from "commander";
import { type Context, printJson } from "../context.js";
import { configuredClusters } from "../deciders-clusters.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import { formatDryRun } from "../format/dry-run.js";
import { formatRefusal } from "../format/refusal.js";
import { checkedPayload } from "../payloads.js";
import { requestCommand } from "../request.js";
import type { Runner } from "./runner.js";

export interface PauseFlags {
  readonly all?: boolean;
  readonly reason?: string;
  readonly dryRun?: boolean;
}

/** Who asks, for the Paused/Resumed event: `user@host` of this process. */
export function requester(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): the host alone says something
  }
  return `${user}@${hostname()}`.slice(0, 256);
}

type Result = { cluster: string; reply: CommandReply } | { cluster: string; error: CliError };

export async function pauseCommand(
  ctx: Context,
  verb: "pause" | "resume",
  o: PauseFlags,
): Promise<ExitCode> {
  const payload = checkedPayload(verb, {
    reason: o.reason,
    requestedBy: requester(),
    dryRun: o.dryRun ? true : undefined,
  });
  const nc = await ctx.connect();
  const clusters = o.all ? await configuredClusters(nc) : [ctx.cluster];
  const results: Result[] = [];
  for (const cluster of clusters) {
    try {
      results.push({ cluster, reply: await requestCommand(nc, cluster, verb, payload) });
    } catch (err) {
      // One cluster without a decider does not stop the others (--all).
      if (!(err instanceof CliError) || !o.all) throw err;
      results.push({ cluster, error: err });
    }
  }
  print(ctx, verb, results, o.all === true);
  return exitOf(results);
}

function print(ctx: Context, verb: string, results: readonly Result[], all: boolean): void {
  const { out } = ctx;
  if (out.json) {
    const json = (r: Result) =>
      "reply" in r
        ? { cluster: r.cluster, reply: r.reply }
        : { cluster: r.cluster, error: { code: r.error.code, message: r.error.message } };
    const only = results[0];
    printJson(ctx, all || !only ? { results: results.map(json) } : { reply: json(only).reply });
    return;
  }
  for (const r of results) {
    const prefix = all ? `${r.cluster}: ` : "";
    if ("error" in r) out.warn(`${prefix}marina: ${r.error.message}`);
    else if (r.reply.ok && r.reply.dryRun) {
      for (const l of formatDryRun(r.reply.dryRun, out.style)) out.line(`${prefix}${l}`);
    } else if (r.reply.ok) out.line(`${prefix}${r.reply.message}`);
    else for (const l of formatRefusal(verb, r.reply.error, out.style)) out.warn(`${prefix}${l}`);
  }
}

/** 0 when every cluster answered ok; else 4 if one had no decider, else 3 (refused). */
function exitOf(results: readonly Result[]): ExitCode {
  if (results.some((r) => "error" in r)) return EXIT.unreachable;
  if (results.some((r) => "reply" in r && !r.reply.ok)) return EXIT.refused;
  if (results.some((r) => "reply" in r && r.reply.ok && r.reply.dryRun?.outcome === "refused"))
    return EXIT.refused;
  return EXIT.ok;
}

export function addPauseCommands(program: Command, run: Runner): void {
  const verbs = [
    [
      "pause",
      "stop Marina starting anything on its own (failover, rejoin, fences...); commands still run",
    ],
    ["resume", "let Marina act on its own again"],
  ] as const;
  for (const [verb, description] of verbs) {
    program
      .command(verb)
      .description(description)
      .option("--all", "every cluster a live decider is configured with (instead of --cluster)")
      .option("--reason <text>", "why (shown in the status and the event)")
      .option("--dry-run", "answer what Marina would do now, and do nothing")
      .action(run((ctx, o: PauseFlags) => pauseCommand(ctx, verb, o)));
  }
}
