// The subcommands that show: status, topology, watch, events, op, history, backups (and its
// prune, which acts on what it shows).
import type { Command } from "commander";
import { parseCount, parseDuration, parseNumber } from "../durations.js";
import { backupsCommand, pruneBackupsCommand } from "./backups.js";
import { eventsCommand } from "./events.js";
import { historyCommand } from "./history.js";
import { opCommand } from "./op.js";
import { type Runner, sinceOf } from "./runner.js";
import { statusCommand } from "./status.js";
import { topologyCommand } from "./topology.js";
import { watchCommand } from "./watch.js";

export function addViewCommands(program: Command, run: Runner): void {
  program
    .command("status")
    .description("the cluster's state, running operation and one row per server")
    .action(run((ctx) => statusCommand(ctx)));

  program
    .command("topology")
    .description("the published topology as a tree")
    .action(run((ctx) => topologyCommand(ctx)));

  program
    .command("watch")
    .description("a live view: redrawn in place on a terminal, one line per message otherwise")
    .option("--since <duration>", "replay what was published in this past", "10m")
    .option("--events <n>", "events kept on screen", "8")
    .action(
      run((ctx, o: { since: string; events: string }) =>
        watchCommand(ctx, {
          since: sinceOf(ctx, parseDuration(o.since, "--since")),
          events: parseCount(o.events, "--events"),
        }),
      ),
    );

  program
    .command("events")
    .description("recent events from the MARINA_EVENTS stream, and/or new ones live")
    .option("-n, --last <n>", "how many stored messages to show", "20")
    .option("-f, --follow", "keep printing new messages")
    .option("--since <duration>", "only messages published in this past")
    .option("--all", "topology and operation messages too")
    .action(
      run((ctx, o: { last: string; follow?: boolean; since?: string; all?: boolean }) =>
        eventsCommand(ctx, {
          last: parseCount(o.last, "--last"),
          follow: o.follow === true,
          all: o.all === true,
          ...(o.since ? { since: sinceOf(ctx, parseDuration(o.since, "--since")) } : {}),
        }),
      ),
    );

  program
    .command("op")
    .argument("<opId>", "the operation's id (printed when it started; in `marina status`)")
    .description("an operation's phases from its start, waiting for its outcome")
    .option("--no-wait", "print what was published so far and return")
    .action(run((ctx, opId: string, o: { wait: boolean }) => opCommand(ctx, opId, o)));

  program
    .command("history")
    .description("finished and refused operations, kept in MARINA_HISTORY; --op for one's steps")
    .option("-n, --limit <n>", "how many of the most recent to show", "20")
    .option("--since <duration>", "only operations that ended in this past (e.g. 2h, 7d)")
    .option("--op <opId>", "one operation: its request, phases and steps with their timings")
    .action(
      run((ctx, o: { limit: string; since?: string; op?: string }) =>
        historyCommand(ctx, {
          limit: parseCount(o.limit, "--limit"),
          ...(o.since ? { since: sinceOf(ctx, parseDuration(o.since, "--since")) } : {}),
          ...(o.op !== undefined ? { op: o.op } : {}),
        }),
      ),
    );

  const backups = program
    .command("backups")
    .argument("[server]", "only this server's backups")
    .description("the backups kept on the servers' hosts (marina backup), newest first")
    .action(run((ctx, server: string | undefined) => backupsCommand(ctx, server)));
  backups
    .command("prune")
    .argument("<server>", "the server whose backups to prune")
    .description(
      "delete <server>'s backups beyond the newest --keep complete ones (and leftovers of unfinished ones), on its host",
    )
    .requiredOption("--keep <n>", "complete backups to keep, newest first (at least 1)")
    .option("--older-than-days <days>", "delete only backups older than this (e.g. 30, 0.5)")
    .option("--reason <text>", "why (kept with the operation)")
    .option("--dry-run", "list what would be deleted and kept, and delete nothing")
    .option("--no-wait", "return once Marina accepted the command")
    .action(
      run(
        (
          ctx,
          server: string,
          o: {
            keep: string;
            olderThanDays?: string;
            reason?: string;
            dryRun?: boolean;
            wait: boolean;
          },
        ) =>
          pruneBackupsCommand(ctx, server, {
            ...o,
            keep: parseCount(o.keep, "--keep"),
            olderThanDays:
              o.olderThanDays === undefined
                ? undefined
                : parseNumber(o.olderThanDays, "--older-than-days"),
          }),
      ),
    );
}
