import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import type { StepRunner } from "./context.js";
import { findConnection } from "./context.js";

/** STOP SLAVE 'name'. Already stopped, or no such connection: nothing to do. */
export const stopReplication: StepRunner<"stop-replication"> = async (ctx, step) => {
  const c = await findConnection(ctx.db, step.connection);
  if (!c) return { connection: step.connection, exists: false, wasRunning: false };
  const wasRunning = anyThreadRunning(c);
  if (wasRunning) await ctx.db.run(sql.stopSlave(step.connection));
  return { connection: step.connection, exists: true, wasRunning, gtidIoPos: c.gtidIoPos };
};
