import { text } from "../rows.js";
import * as sql from "../sql.js";
import { StepError, type StepRunner } from "./context.js";

/** How often to look: a fifth of the stable window, between 20 and 200 ms. */
export function pollIntervalMs(stableMs: number): number {
  return Math.min(200, Math.max(20, Math.floor(stableMs / 5)));
}

/**
 * Polls @@gtid_binlog_pos until it has not changed for `stableMs` (writes have stopped,
 * e.g. after read_only=1 and kill-clients). Read-only by nature, so repeatable.
 */
export const waitBinlogStable: StepRunner<"wait-binlog-stable"> = async (ctx, step) => {
  const read = async () => {
    const [row] = await ctx.db.rows(sql.SELECT_BINLOG_POS);
    return row ? text(row, "gtid_binlog_pos") : "";
  };
  const start = ctx.clock.now();
  let last = await read();
  let since = start;
  let changes = 0;
  for (;;) {
    const now = ctx.clock.now();
    if (now - since >= step.stableMs) {
      return { gtidBinlogPos: last, stableForMs: now - since, changes };
    }
    if (now - start >= step.timeoutMs) {
      throw new StepError(
        "TIMEOUT",
        `gtid_binlog_pos still changing after ${step.timeoutMs} ms (${changes} changes, at ${last || "empty"})`,
        { gtidBinlogPos: last, changes },
      );
    }
    const untilStable = step.stableMs - (now - since);
    const untilTimeout = step.timeoutMs - (now - start);
    await ctx.clock.sleep(Math.min(pollIntervalMs(step.stableMs), untilStable, untilTimeout));
    const pos = await read();
    if (pos !== last) {
      last = pos;
      since = ctx.clock.now();
      changes++;
    }
  }
};
