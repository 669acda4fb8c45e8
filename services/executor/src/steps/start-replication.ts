import { text } from "../rows.js";
import * as sql from "../sql.js";
import { ioRunning } from "../status.js";
import type { StepRunner } from "./context.js";
import { findConnectionRow, noSuchConnection, StepError } from "./context.js";

/**
 * START SLAVE 'name' [UNTIL master_gtid_pos = '...']. Both threads running: nothing to do.
 * With UNTIL: an SQL thread already running under a GTID UNTIL condition is left alone (a
 * repeat of this step); one running without UNTIL is refused — MariaDB cannot add the
 * condition to a running thread, and stopping it silently is the caller's decision.
 */
export const startReplication: StepRunner<"start-replication"> = async (ctx, step) => {
  const found = await findConnectionRow(ctx.db, step.connection);
  if (!found) throw noSuchConnection(step.connection, "run change-master first");
  const { c, row } = found;
  const untilCondition = text(row, "Until_Condition");
  const base = { connection: step.connection, untilGtid: step.untilGtid ?? null };
  if (step.untilGtid !== undefined) {
    if (c.sqlThread) {
      if (untilCondition === "Gtid") return { ...base, started: false, alreadyRunning: true };
      throw new StepError(
        "NOT_APPLICABLE",
        `replication connection '${step.connection}' is running without UNTIL; stop it first`,
        { ...base, ioThread: c.ioThread, sqlThread: c.sqlThread },
      );
    }
    await ctx.db.run(sql.startSlaveUntil(step.connection, step.untilGtid));
    return { ...base, started: true, alreadyRunning: false };
  }
  if (ioRunning(c) && c.sqlThread) return { ...base, started: false, alreadyRunning: true };
  // Starts whichever thread is stopped; MariaDB notes (1254) the one already running.
  await ctx.db.run(sql.startSlave(step.connection));
  return { ...base, started: true, alreadyRunning: false };
};
