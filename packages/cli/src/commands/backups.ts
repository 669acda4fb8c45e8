// marina backups [server]: the backups kept on the servers' hosts, read through the decider
// (cmd.backups) from the agents' manifests; a table, or --json. marina backups prune: the
// retention (cmd.prune-backups).
import { BackupManifest, BackupPruneResult } from "@marina/contracts";
import { type Context, printJson } from "../context.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatBackupsTable, formatPruneTable } from "../format/backups.js";
import { formatRefusal } from "../format/refusal.js";
import { checkedPayload } from "../payloads.js";
import { requestCommand } from "../request.js";
import { followAccepted, printDryRun } from "./verb.js";

export async function backupsCommand(ctx: Context, server: string | undefined): Promise<ExitCode> {
  const nc = await ctx.connect();
  const reply = await requestCommand(nc, ctx.cluster, "backups", server ? { server } : {});
  const { out } = ctx;
  if (!reply.ok) {
    if (out.json) printJson(ctx, { reply });
    else for (const l of formatRefusal("backups", reply.error, out.style)) out.warn(l);
    return EXIT.refused;
  }
  const raw = Array.isArray(reply.data?.backups) ? reply.data.backups : [];
  const backups = raw.flatMap((b) => {
    const p = BackupManifest.safeParse(b);
    if (!p.success) out.warn("skipped an invalid backup manifest");
    return p.success ? [p.data] : [];
  });
  const unread = Array.isArray(reply.data?.unread) ? reply.data.unread.map(String) : [];
  if (out.json) {
    printJson(ctx, { cluster: ctx.cluster, backups, unread });
    return EXIT.ok;
  }
  for (const u of unread) out.warn(`not read: ${u}`);
  if (backups.length === 0) {
    out.line(`no backup kept${server ? ` of ${server}` : ` in cluster ${ctx.cluster}`}`);
    return EXIT.ok;
  }
  out.line(formatBackupsTable(backups, { boxed: out.isTTY, style: out.style }));
  return EXIT.ok;
}

export interface PruneFlags {
  readonly keep: number;
  readonly olderThanDays?: number | undefined;
  readonly reason?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly wait: boolean;
}

/**
 * marina backups prune <server> --keep N: what the prune deletes (or, --dry-run, would) as a
 * table, then — unless --no-wait — the deletion followed to its end.
 */
export async function pruneBackupsCommand(
  ctx: Context,
  server: string,
  o: PruneFlags,
): Promise<ExitCode> {
  const payload = checkedPayload("prune-backups", {
    server,
    keep: o.keep,
    olderThanDays: o.olderThanDays,
    reason: o.reason,
    dryRun: o.dryRun ? true : undefined,
  });
  const nc = await ctx.connect();
  const reply = await requestCommand(nc, ctx.cluster, "prune-backups", payload);
  const { out } = ctx;
  if (!reply.ok) {
    if (out.json) printJson(ctx, { reply });
    else for (const l of formatRefusal("prune-backups", reply.error, out.style)) out.warn(l);
    return EXIT.refused;
  }
  if (reply.dryRun?.outcome === "refused") return printDryRun(ctx, reply, reply.dryRun);
  const selection = BackupPruneResult.safeParse(reply.data ?? {});
  if (!out.json) {
    if (selection.success) {
      // The agent's selection right before it deletes: "delete" unless this is a dry-run.
      const shown = { ...selection.data, dryRun: reply.dryRun !== undefined };
      out.line(formatPruneTable(shown, { boxed: out.isTTY, style: out.style }));
    } else out.warn("the reply carries no valid list of what is pruned");
    // With --no-wait, followAccepted prints it (and the operation's id).
    if (reply.dryRun || o.wait) out.line(reply.message);
  }
  if (reply.dryRun) {
    if (out.json) printJson(ctx, { reply });
    return EXIT.ok;
  }
  return followAccepted(ctx, nc, "prune-backups", reply, o);
}
