import { DatabaseName } from "@marina/contracts";
import type { StepRunner } from "./context.js";

/**
 * DROP DATABASE IF EXISTS each, not binlogged (`sql_log_bin=0`): a multi-source replica's
 * copy of a source it no longer follows. Names are validated (DatabaseName: no backtick)
 * and quoted.
 */
export const dropDatabases: StepRunner<"drop-databases"> = async (ctx, step) => {
  await ctx.db.run({ sql: "SET SESSION sql_log_bin = 0" });
  const dropped: string[] = [];
  for (const d of step.databases) {
    await ctx.db.run({ sql: `DROP DATABASE IF EXISTS \`${DatabaseName.parse(d)}\`` });
    dropped.push(d);
  }
  return { dropped };
};
