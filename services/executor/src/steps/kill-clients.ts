import { errnoOf } from "@marina/mariadb";
import type { Session } from "../db.js";
import { int, text } from "../rows.js";
import * as sql from "../sql.js";
import { killOrder, mapThread, partitionThreads, privilegedUserNames } from "../threads.js";
import type { StepContext, StepRunner } from "./context.js";
import { marinaUsers } from "./inspect.js";

const UNKNOWN_THREAD = 1094;

export type KillRound = {
  killed: Array<{ id: number; user: string; host: string }>;
  kept: Array<{ id: number; user: string; reason: string }>;
};

/**
 * One pass over the server's threads on `db`: kills client connections — not system or
 * replication threads, not `db`'s own session, not Marina's admin/replication accounts;
 * privileged users (SUPER / READ_ONLY ADMIN) only when `includePrivileged`. A thread gone
 * meanwhile (1094) counts as killed. KILL CONNECTION shuts the client's socket, so a commit
 * it was waiting on is never answered OK — but a commit waiting for a semi-sync ack leads a
 * binlog group, and ending its wait commits the whole group: the sessions waiting for an ack
 * are killed last (killOrder), after every member of their group.
 */
export async function killClientConnections(
  ctx: StepContext,
  db: Session,
  includePrivileged: boolean,
): Promise<KillRound> {
  return (await clientKiller(ctx, db, includePrivileged))();
}

/**
 * Prepares kill rounds on `db` (see killClientConnections): its own connection id and the
 * privileged users are read once, so the fence's rounds, 10 ms apart while read_only=1
 * waits, each cost one PROCESSLIST read plus the kills.
 */
export async function clientKiller(
  ctx: StepContext,
  db: Session,
  includePrivileged: boolean,
): Promise<() => Promise<KillRound>> {
  const [own] = await db.rows(sql.SELECT_CONNECTION_ID);
  const ownId = own ? int(own, "id", -1) : -1;
  const privileged = includePrivileged
    ? new Set<string>()
    : privilegedUserNames(
        (await db.rows(sql.SELECT_PRIVILEGED_GRANTEES)).map((r) => text(r, "grantee")),
      );
  const filter = {
    ownId,
    protectedUsers: marinaUsers(ctx),
    privilegedUsers: privileged,
    includePrivileged,
  };
  return async () => {
    const threads = (await db.rows(sql.SELECT_THREADS)).map(mapThread);
    const { kill, kept } = partitionThreads(threads, filter);
    const killed: KillRound["killed"] = [];
    for (const t of killOrder(kill)) {
      try {
        await db.run(sql.killConnection(t.id));
      } catch (err) {
        if (errnoOf(err) !== UNKNOWN_THREAD) throw err;
      }
      killed.push({ id: t.id, user: t.user, host: t.host });
    }
    return { killed, kept: kept.map((t) => ({ id: t.id, user: t.user, reason: t.reason })) };
  };
}

/** Kills client connections once (see killClientConnections). */
export const killClients: StepRunner<"kill-clients"> = async (ctx, step) => {
  const round = await killClientConnections(ctx, ctx.db, step.includePrivileged);
  ctx.log.info(
    { killed: round.killed.length, kept: round.kept.length },
    "killed client connections",
  );
  return round;
};
