import { DatabaseName } from "@marina/contracts";
import * as sql from "../sql.js";
import { anyThreadRunning } from "../status.js";
import { findConnection, StepError, type StepRunner } from "./context.js";

/** `db.%` with `_` escaped: in a wild table pattern `_` would match any one character. */
export function wildPatternOf(database: string): string {
  return `${DatabaseName.parse(database).replaceAll("_", "\\_")}.%`;
}

/**
 * One connection's database filter, as `Replicate_Wild_Do_Table` = `db.%` per database.
 * MariaDB keeps replication filters per connection: the session's default_master_connection
 * picks which one `SET GLOBAL` sets, and the connection must be stopped (it is stopped here
 * and left stopped; starting it is start-replication's job). Not `replicate_do_db`: that one
 * judges a statement (DDL always is one) by the session's default database, so a `CREATE
 * TABLE app1.t` made from another database would be dropped. Not written to the server's
 * config: a restart forgets it.
 */
export const setReplicationFilter: StepRunner<"set-replication-filter"> = async (ctx, step) => {
  const c = await findConnection(ctx.db, step.connection);
  if (!c) {
    throw new StepError("NOT_APPLICABLE", `no replication connection '${step.connection}'`);
  }
  const want = step.databases.map(wildPatternOf).join(",");
  const stopped = anyThreadRunning(c);
  if (stopped) await ctx.db.run(sql.stopSlave(step.connection));
  await ctx.db.run({
    sql: `SET SESSION default_master_connection = ${sql.connectionLiteral(step.connection)}`,
  });
  await ctx.db.run({ sql: "SET GLOBAL replicate_wild_do_table = ?", params: [want] });
  const [now] = await ctx.db.rows("SELECT @@global.replicate_wild_do_table AS v");
  return {
    connection: step.connection,
    replicateWildDoTable: now ? String(now.v ?? "") : "",
    stopped,
  };
};
