import { text } from "../rows.js";
import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import { readConnections, type StepRunner } from "./context.js";

/**
 * SET GLOBAL gtid_slave_pos. Already equal (compared canonically): nothing to do.
 * MariaDB refuses the change while any replication connection runs (1198), and the
 * position is global, so every running connection is stopped first and LEFT STOPPED
 * (listed in `stopped`): restarting is start-replication's job, after change-master.
 */
export const setGtidSlavePos: StepRunner<"set-gtid-slave-pos"> = async (ctx, step) => {
  const want = sql.canonicalGtid(step.pos);
  const [row] = await ctx.db.rows(sql.SELECT_SLAVE_POS);
  const previous = row ? text(row, "gtid_slave_pos") : "";
  if (sql.canonicalGtid(previous) === want) {
    return { pos: want, previous, changed: false, stopped: [] };
  }
  const stopped: string[] = [];
  for (const c of await readConnections(ctx.db)) {
    if (!anyThreadRunning(c)) continue;
    await ctx.db.run(sql.stopSlave(c.connection));
    stopped.push(c.connection);
  }
  await ctx.db.run(sql.setGtidSlavePos(want));
  return { pos: want, previous, changed: true, stopped };
};
