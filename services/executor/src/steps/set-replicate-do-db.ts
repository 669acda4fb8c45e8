import { DatabaseName } from "@marina/contracts";
import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import { findConnection, StepError, type StepRunner } from "./context.js";

/**
 * One connection's Replicate_Do_DB. MariaDB keeps replication filters per connection: the
 * session's default_master_connection picks which one `SET GLOBAL replicate_do_db` sets,
 * and the connection must be stopped (it is stopped here and left stopped; starting it is
 * start-replication's job). Not written to the server's config: a restart forgets it.
 */
export const setReplicateDoDb: StepRunner<"set-replicate-do-db"> = async (ctx, step) => {
  const c = await findConnection(ctx.db, step.connection);
  if (!c) {
    throw new StepError("NOT_APPLICABLE", `no replication connection '${step.connection}'`);
  }
  // Names were checked by the contract; checked again since they go into the statement text.
  const dbs = step.databases.map((d) => DatabaseName.parse(d));
  const want = dbs.join(",");
  const stopped = anyThreadRunning(c);
  if (stopped) await ctx.db.run(sql.stopSlave(step.connection));
  await ctx.db.run({
    sql: `SET SESSION default_master_connection = ${sql.connectionLiteral(step.connection)}`,
  });
  await ctx.db.run({ sql: "SET GLOBAL replicate_do_db = ?", params: [want] });
  const [now] = await ctx.db.rows("SELECT @@global.replicate_do_db AS v");
  const seen = now ? String(now.v ?? "") : "";
  return { connection: step.connection, replicateDoDb: seen, stopped };
};
