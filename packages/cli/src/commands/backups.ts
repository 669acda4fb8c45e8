// marina backups [server]: the backups kept on the servers' hosts, read through the decider
// (cmd.backups) from the agents' manifests; a table, or --json.
import { BackupManifest } from "@marina/contracts";
import { type Context, printJson } from "../context.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatBackupsTable } from "../format/backups.js";
import { formatRefusal } from "../format/refusal.js";
import { requestCommand } from "../request.js";

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
