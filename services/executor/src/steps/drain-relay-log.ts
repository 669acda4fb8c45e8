import { pendingGtids } from "../pending.js";
import { text } from "../rows.js";
import * as sql from "../sql.js";
import {
  errorsOf,
  findConnection,
  noSuchConnection,
  StepError,
  type StepRunner,
} from "./context.js";
import { masterGtidWait } from "./wait-gtid.js";

/**
 * Waits until the SQL thread applied what the IO thread had received when the step began:
 * reads the connection's Gtid_IO_Pos, keeps the domains not yet applied (see pendingGtids)
 * and MASTER_GTID_WAITs on them. Nothing pending: done at once. Pending but the SQL thread
 * is stopped: refused at once (it would never drain), with the SQL error if there is one.
 */
export const drainRelayLog: StepRunner<"drain-relay-log"> = async (ctx, step) => {
  const c = await findConnection(ctx.db, step.connection);
  if (!c) throw noSuchConnection(step.connection, "nothing to drain");
  // IO position first: applied positions only grow, so reading them second is never stale.
  const [pos] = await ctx.db.rows(sql.SELECT_GTID_POSITIONS);
  const slavePos = pos ? text(pos, "gtid_slave_pos") : "";
  const binlogPos = pos ? text(pos, "gtid_binlog_pos") : "";
  const pending = pendingGtids(c.gtidIoPos, slavePos, binlogPos);
  const data = { connection: step.connection, gtidIoPos: c.gtidIoPos, pending };
  if (pending === "") return { ...data, drained: true, gtidSlavePos: slavePos };
  if (!c.sqlThread) {
    throw new StepError(
      c.lastSqlErrno !== 0 ? "SQL_ERROR" : "NOT_APPLICABLE",
      `SQL thread of '${step.connection}' is stopped with ${pending} still to apply (${errorsOf(c)})`,
      { ...data, gtidSlavePos: slavePos },
    );
  }
  const r = await masterGtidWait(ctx.db, pending, step.timeoutMs);
  if (!r.reached) {
    throw new StepError(
      "TIMEOUT",
      `relay log of '${step.connection}' not applied up to ${pending} within ${step.timeoutMs} ms (at ${r.gtidSlavePos || "empty"})`,
      { ...data, gtidSlavePos: r.gtidSlavePos },
    );
  }
  return { ...data, drained: true, gtidSlavePos: r.gtidSlavePos };
};
