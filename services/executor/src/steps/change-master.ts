import { MarinaError, type ReplicationConnection } from "@marina/contracts";
import { int, text } from "../rows.js";
import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import { findConnectionRow, type StepRunner } from "./context.js";

const USING_GTID = { slave_pos: "Slave_Pos", current_pos: "Current_Pos" } as const;

interface Pointing {
  readonly c: ReplicationConnection;
  readonly user: string;
  readonly connectRetry: number;
}

/** The connection already points where asked, with the settings asked. Pure. */
export function alreadyPointing(
  p: Pointing,
  want: { host: string; port: number; user: string; useGtid: sql.UseGtid },
): boolean {
  return (
    p.c.masterHost === want.host &&
    p.c.masterPort === want.port &&
    p.user === want.user &&
    p.c.usingGtid === USING_GTID[want.useGtid] &&
    p.connectRetry === 1 &&
    p.c.heartbeatPeriodSec === 1
  );
}

/**
 * CHANGE MASTER 'name' TO the config's source server, with the replication account.
 * Already pointing there (host, port, user, MASTER_USE_GTID, retry, heartbeat): nothing
 * is done and a running connection keeps running. Otherwise a running connection is
 * stopped first (CHANGE MASTER refuses a running one) and left stopped: starting it is
 * start-replication's job. The password cannot be read back, so a rotated password with
 * an otherwise identical target is not re-applied.
 */
export const changeMaster: StepRunner<"change-master"> = async (ctx, step) => {
  const source = ctx.source;
  if (!source) throw new MarinaError("INTERNAL", "change-master without a resolved source");
  const want = {
    host: source.host,
    port: source.port,
    user: ctx.cluster.replication.user,
    useGtid: step.useGtid,
  };
  const found = await findConnectionRow(ctx.db, step.connection);
  const current = found
    ? {
        c: found.c,
        user: text(found.row, "Master_User"),
        connectRetry: int(found.row, "Connect_Retry"),
      }
    : undefined;
  const base = {
    connection: step.connection,
    source: source.name,
    host: source.host,
    port: source.port,
  };
  if (current && alreadyPointing(current, want)) {
    return { ...base, changed: false, stoppedFirst: false, running: anyThreadRunning(current.c) };
  }
  const stoppedFirst = current !== undefined && anyThreadRunning(current.c);
  if (stoppedFirst) await ctx.db.run(sql.stopSlave(step.connection));
  await ctx.db.run(
    sql.changeMaster(step.connection, { ...want, password: ctx.cluster.replication.password }),
  );
  return {
    ...base,
    changed: true,
    stoppedFirst,
    running: false,
    previous: current ? { host: current.c.masterHost, port: current.c.masterPort } : null,
  };
};
