import { errorBodyOf, replaceDomains } from "@marina/contracts";
import type { Session } from "../db.js";
import { text } from "../rows.js";
import * as sql from "../sql.js";
import { readConnections, type StepContext, StepError, type StepRunner } from "./context.js";

/** The statements' bound when the step names none: STOP SLAVE SQL_THREAD waits for a group. */
export const REPLACE_GTID_DOMAINS_TIMEOUT_MS = 600_000;

/**
 * Some domains of gtid_slave_pos replaced, the others kept exactly: MariaDB refuses the SET
 * while any SQL thread runs (1198; IO threads may run, verified on 10.11), so each running
 * SQL thread is stopped, the position read only then (nothing moves it any more), set, and
 * exactly those SQL threads started again — they resume where they stopped. One session,
 * no round trip to the decider in between: `pausedMs` is how long they were stopped.
 *
 * Whatever fails, a START is attempted for every connection a STOP was sent to (the one
 * whose STOP failed too: START on a running thread is only a note), each even when another
 * failed, on a fresh session once the first one broke; the error says which are still
 * stopped, and the data carries `restarted` and `stillStopped` on failure as on success.
 */
export const replaceGtidDomains: StepRunner<"replace-gtid-domains"> = async (ctx, step) => {
  const running = (await readConnections(ctx.db))
    .filter((c) => c.sqlThread)
    .map((c) => c.connection);
  const t0 = performance.now();
  const stopSent: string[] = [];
  let previous = "";
  let want = "";
  let set = false;
  let failure: unknown = null;
  try {
    for (const c of running) {
      stopSent.push(c);
      await ctx.db.run(sql.stopSlave(c, "SQL_THREAD"));
    }
    const [row] = await ctx.db.rows(sql.SELECT_SLAVE_POS);
    previous = row ? text(row, "gtid_slave_pos") : "";
    want = replaceDomains(previous, step.pos, step.domains);
    if (sql.canonicalGtid(previous) !== sql.canonicalGtid(want)) {
      await ctx.db.run(sql.setGtidSlavePos(want));
    }
    set = true;
  } catch (err) {
    failure = err;
  }
  const { restarted, stillStopped, errors } = await startAgain(ctx, stopSent);
  const pausedMs = Math.round(performance.now() - t0);
  const data = { previous, pos: set ? want : previous, set, restarted, stillStopped, pausedMs };
  if (failure !== null || stillStopped.length > 0) {
    const first = errorBodyOf(failure ?? errors[0]);
    const what =
      failure !== null
        ? `gtid_slave_pos ${set ? "set, but" : "not changed:"} ${first.message}`
        : `gtid_slave_pos set to ${want}`;
    const left =
      stillStopped.length > 0
        ? `; the SQL threads of ${stillStopped.map((c) => `'${c}'`).join(", ")} are NOT running (${errors.map((e) => errorBodyOf(e).message).join("; ")}): START SLAVE '<c>' SQL_THREAD by hand`
        : `; the SQL threads stopped (${restarted.map((c) => `'${c}'`).join(", ") || "none"}) were started again`;
    ctx.log.warn(data, "gtid_slave_pos domains not replaced cleanly");
    throw new StepError(first.code, `${what}${left}`, data);
  }
  ctx.log.info(data, "gtid_slave_pos domains replaced");
  return data;
};

/** START SLAVE '<c>' SQL_THREAD for each, every one attempted; a broken session replaced once. */
async function startAgain(
  ctx: StepContext,
  connections: readonly string[],
): Promise<{ restarted: string[]; stillStopped: string[]; errors: unknown[] }> {
  const restarted: string[] = [];
  const stillStopped: string[] = [];
  const errors: unknown[] = [];
  let db: Session = ctx.db;
  let fresh: Session | null = null;
  for (const c of connections) {
    try {
      await db.run(sql.startSlave(c, "SQL_THREAD"));
      restarted.push(c);
      continue;
    } catch (err) {
      if (fresh !== null) {
        stillStopped.push(c);
        errors.push(err);
        continue;
      }
    }
    // The first failure: the session may have broken (a socket timeout while STOP waited).
    try {
      fresh = await ctx.openSession();
      db = fresh;
      await db.run(sql.startSlave(c, "SQL_THREAD"));
      restarted.push(c);
    } catch (err) {
      stillStopped.push(c);
      errors.push(err);
    }
  }
  if (fresh !== null) await fresh.close().catch(() => undefined);
  return { restarted, stillStopped, errors };
}
