import { errnoOf } from "@marina/mariadb";
import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import type { StepRunner } from "./context.js";
import { findConnection } from "./context.js";

const NO_SUCH_CONNECTION = 1617;

/**
 * RESET SLAVE 'name' ALL: forgets one connection, the others stay. A running connection is
 * stopped first (RESET refuses a running one). A connection that no longer exists is done.
 * gtid_slave_pos is NOT cleared by this (MariaDB keeps it).
 */
export const resetReplication: StepRunner<"reset-replication"> = async (ctx, step) => {
  const c = await findConnection(ctx.db, step.connection);
  if (!c) return { connection: step.connection, existed: false, stoppedFirst: false };
  const stoppedFirst = anyThreadRunning(c);
  if (stoppedFirst) await ctx.db.run(sql.stopSlave(step.connection));
  try {
    await ctx.db.run(sql.resetSlaveAll(step.connection));
  } catch (err) {
    // Removed by someone else between the read and the reset: the effect is there.
    if (errnoOf(err) !== NO_SUCH_CONNECTION) throw err;
  }
  return {
    connection: step.connection,
    existed: true,
    stoppedFirst,
    previous: { host: c.masterHost, port: c.masterPort, gtidIoPos: c.gtidIoPos },
  };
};
