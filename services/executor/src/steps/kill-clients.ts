import { errnoOf } from "../db-errors.js";
import { int, text } from "../rows.js";
import * as sql from "../sql.js";
import { mapThread, partitionThreads, privilegedUserNames } from "../threads.js";
import type { StepRunner } from "./context.js";
import { marinaUsers } from "./inspect.js";

const UNKNOWN_THREAD = 1094;

/**
 * Kills client connections: not system or replication threads, not its own session, not
 * Marina's admin/replication accounts; privileged users (SUPER / READ_ONLY ADMIN) only
 * when `includePrivileged`. A thread gone meanwhile (1094) counts as killed.
 */
export const killClients: StepRunner<"kill-clients"> = async (ctx, step) => {
  const [own] = await ctx.db.rows(sql.SELECT_CONNECTION_ID);
  const ownId = own ? int(own, "id", -1) : -1;
  const privileged = step.includePrivileged
    ? new Set<string>()
    : privilegedUserNames(
        (await ctx.db.rows(sql.SELECT_PRIVILEGED_GRANTEES)).map((r) => text(r, "grantee")),
      );
  const threads = (await ctx.db.rows(sql.SELECT_THREADS)).map(mapThread);
  const { kill, kept } = partitionThreads(threads, {
    ownId,
    protectedUsers: marinaUsers(ctx),
    privilegedUsers: privileged,
    includePrivileged: step.includePrivileged,
  });
  const killed: Array<{ id: number; user: string; host: string }> = [];
  for (const t of kill) {
    try {
      await ctx.db.run(sql.killConnection(t.id));
    } catch (err) {
      if (errnoOf(err) !== UNKNOWN_THREAD) throw err;
    }
    killed.push({ id: t.id, user: t.user, host: t.host });
  }
  ctx.log.info({ killed: killed.length, kept: kept.length }, "killed client connections");
  return {
    killed,
    kept: kept.map((t) => ({ id: t.id, user: t.user, reason: t.reason })),
  };
};
