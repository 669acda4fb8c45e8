import type { Session } from "../db.js";
import { intOrNull, text } from "../rows.js";
import * as sql from "../sql.js";
import { StepError, type StepRunner } from "./context.js";

/**
 * MASTER_GTID_WAIT(pos, timeout): returns once the replica's gtid_slave_pos reached
 * `pos`. -1 → TIMEOUT. Note MariaDB compares against replicated transactions
 * (gtid_slave_pos), so this waits on replicas, not on a primary's own writes.
 */
export async function masterGtidWait(
  db: Session,
  pos: string,
  timeoutMs: number,
): Promise<{ reached: boolean; gtidSlavePos: string }> {
  const stmt = sql.masterGtidWait(pos, timeoutMs);
  const [row] = await db.rows(stmt.sql, stmt.params);
  const result = row ? intOrNull(row, "result") : null;
  const [after] = await db.rows(sql.SELECT_SLAVE_POS);
  return { reached: result === 0, gtidSlavePos: after ? text(after, "gtid_slave_pos") : "" };
}

export const waitGtid: StepRunner<"wait-gtid"> = async (ctx, step) => {
  const pos = sql.canonicalGtid(step.pos);
  const r = await masterGtidWait(ctx.db, pos, step.timeoutMs);
  const data = { pos, gtidSlavePos: r.gtidSlavePos };
  if (!r.reached) {
    throw new StepError(
      "TIMEOUT",
      `gtid_slave_pos did not reach ${pos} within ${step.timeoutMs} ms (at ${r.gtidSlavePos || "empty"})`,
      data,
    );
  }
  return { ...data, reached: true };
};
