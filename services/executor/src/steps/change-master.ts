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
  /** Master_SSL_Allowed, Master_SSL_CA_File, Master_SSL_Verify_Server_Cert as shown. */
  readonly ssl: { readonly allowed: string; readonly ca: string; readonly verify: string };
}

/** The connection already points where asked, with the settings asked. Pure. */
export function alreadyPointing(
  p: Pointing,
  want: { host: string; port: number; user: string; useGtid: sql.UseGtid; sslCa?: string },
): boolean {
  // Without TLS in the config, the connection's SSL settings are left as they are.
  const ssl =
    want.sslCa === undefined ||
    (p.ssl.allowed === "Yes" && p.ssl.ca === want.sslCa && p.ssl.verify === "Yes");
  return (
    ssl &&
    p.c.masterHost === want.host &&
    p.c.masterPort === want.port &&
    p.user === want.user &&
    p.c.usingGtid === USING_GTID[want.useGtid] &&
    p.connectRetry === 1 &&
    p.c.heartbeatPeriodSec === 1
  );
}

/**
 * CHANGE MASTER 'name' TO the config's source server (its replication address), with the
 * replication account.
 * Already pointing there (host, port, user, MASTER_USE_GTID, retry, heartbeat): nothing
 * is done and a running connection keeps running. Otherwise a running connection is
 * stopped first (CHANGE MASTER refuses a running one) and left stopped: starting it is
 * start-replication's job. The password cannot be read back, so a rotated password with
 * an otherwise identical target is not re-applied.
 */
export const changeMaster: StepRunner<"change-master"> = async (ctx, step) => {
  const source = ctx.source;
  if (!source) throw new MarinaError("INTERNAL", "change-master without a resolved source");
  const to = source.replicationAddress ?? source;
  const want = {
    host: to.host,
    port: to.port,
    user: ctx.cluster.replication.user,
    useGtid: step.useGtid,
    ...(ctx.cluster.replicationCa !== undefined ? { sslCa: ctx.cluster.replicationCa } : {}),
  };
  const found = await findConnectionRow(ctx.db, step.connection);
  const current = found
    ? {
        c: found.c,
        user: text(found.row, "Master_User"),
        connectRetry: int(found.row, "Connect_Retry"),
        ssl: {
          allowed: text(found.row, "Master_SSL_Allowed"),
          ca: text(found.row, "Master_SSL_CA_File"),
          verify: text(found.row, "Master_SSL_Verify_Server_Cert"),
        },
      }
    : undefined;
  const base = {
    connection: step.connection,
    source: source.name,
    host: to.host,
    port: to.port,
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
