import { flag } from "../rows.js";
import * as sql from "../sql.js";
import type { StepRunner } from "./context.js";

/** SET GLOBAL read_only; only when it differs, so a repeat is a no-op. */
export const setReadOnly: StepRunner<"set-read-only"> = async (ctx, step) => {
  const [row] = await ctx.db.rows(sql.SELECT_READ_ONLY);
  const previous = row ? flag(row, "read_only") : !step.readOnly;
  if (previous !== step.readOnly) await ctx.db.run(sql.setReadOnly(step.readOnly));
  return { readOnly: step.readOnly, previous, changed: previous !== step.readOnly };
};
