import { replaceDomains } from "@marina/contracts";
import { text } from "../rows.js";
import * as sql from "../sql.js";
import { readConnections, type StepRunner } from "./context.js";

/**
 * Some domains of gtid_slave_pos replaced, the others kept exactly: MariaDB refuses the SET
 * while any SQL thread runs (1198; IO threads may run, verified on 10.11), so each running
 * SQL thread is stopped, the position read only then (nothing moves it any more), set, and
 * exactly those SQL threads started again — they resume where they stopped. One session,
 * no round trip to the decider in between: `pausedMs` is how long they were stopped.
 */
export const replaceGtidDomains: StepRunner<"replace-gtid-domains"> = async (ctx, step) => {
  const running = (await readConnections(ctx.db))
    .filter((c) => c.sqlThread)
    .map((c) => c.connection);
  const t0 = performance.now();
  const stopped: string[] = [];
  let previous = "";
  let want = "";
  try {
    for (const c of running) {
      await ctx.db.run(sql.stopSlave(c, "SQL_THREAD"));
      stopped.push(c);
    }
    const [row] = await ctx.db.rows(sql.SELECT_SLAVE_POS);
    previous = row ? text(row, "gtid_slave_pos") : "";
    want = replaceDomains(previous, step.pos, step.domains);
    if (sql.canonicalGtid(previous) !== sql.canonicalGtid(want)) {
      await ctx.db.run(sql.setGtidSlavePos(want));
    }
  } finally {
    for (const c of stopped) await ctx.db.run(sql.startSlave(c, "SQL_THREAD"));
  }
  const pausedMs = Math.round(performance.now() - t0);
  ctx.log.info(
    { pausedMs, restarted: stopped, previous, pos: want },
    "gtid_slave_pos domains replaced",
  );
  return { previous, pos: want, restarted: stopped, pausedMs };
};
