import { flag } from "../rows.js";
import * as sql from "../sql.js";
import { ioRunning } from "../status.js";
import { readConnections, type StepRunner } from "./context.js";

/**
 * SET GLOBAL rpl_semi_sync_master_enabled / rpl_semi_sync_slave_enabled, each only when
 * given and different. A replica's IO thread reads the slave setting when it connects, so
 * when the slave setting changes every connection whose IO thread runs gets it restarted
 * (STOP SLAVE 'x' IO_THREAD; START SLAVE 'x' IO_THREAD; the SQL thread keeps applying).
 * Stopped connections pick the setting up when started.
 */
export const setSemiSync: StepRunner<"set-semi-sync"> = async (ctx, step) => {
  const [row] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_ENABLED);
  const before = {
    master: row ? flag(row, "master") : false,
    slave: row ? flag(row, "slave") : false,
  };
  let strictChanged = false;
  if (step.strict) {
    const [s] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_STRICT);
    if (!(s && flag(s, "strict"))) {
      for (const st of sql.SEMI_SYNC_STRICT) await ctx.db.run(st);
      strictChanged = true;
    }
  }
  const masterChanged = step.master !== undefined && step.master !== before.master;
  const slaveChanged = step.slave !== undefined && step.slave !== before.slave;
  if (masterChanged) await ctx.db.run(sql.setSemiSync("master", step.master === true));
  // Strict: a master that fell back to async earlier (status OFF) acknowledges commits
  // without a replica until one catches up; enabling it again does not re-arm it. Off and
  // on does (nothing waits while the status is OFF, so nothing is released).
  let rearmed = false;
  if (step.strict && step.master === true) {
    const [st] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_MASTER_STATUS);
    if (st && !flag(st, "on")) {
      await ctx.db.run(sql.setSemiSync("master", false));
      await ctx.db.run(sql.setSemiSync("master", true));
      rearmed = true;
    }
  }
  // Turned off but still acknowledging: its IO threads read the setting when they connect,
  // so one set off earlier without a restart (by hand) acknowledges until restarted.
  let stillAcknowledging = false;
  if (step.slave === false && !slaveChanged) {
    const [st] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_SLAVE_STATUS);
    stillAcknowledging = st ? flag(st, "on") : false;
  }
  const restartedIoThreads: string[] = [];
  if (slaveChanged || stillAcknowledging) {
    if (slaveChanged) await ctx.db.run(sql.setSemiSync("slave", step.slave === true));
    for (const c of await readConnections(ctx.db)) {
      if (!ioRunning(c)) continue;
      await ctx.db.run(sql.stopSlave(c.connection, "IO_THREAD"));
      await ctx.db.run(sql.startSlave(c.connection, "IO_THREAD"));
      restartedIoThreads.push(c.connection);
    }
  }
  return {
    master: step.master ?? before.master,
    slave: step.slave ?? before.slave,
    previous: before,
    changed: masterChanged || slaveChanged || strictChanged || rearmed || stillAcknowledging,
    ...(step.strict ? { strict: true, rearmed } : {}),
    restartedIoThreads,
  };
};
