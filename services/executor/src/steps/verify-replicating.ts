import type { ReplicationConnection } from "@marina/contracts";
import {
  errorsOf,
  findConnection,
  noSuchConnection,
  StepError,
  type StepRunner,
} from "./context.js";

const POLL_MS = 100;

/** Stopped with an error that MariaDB does not retry: waiting longer cannot help. */
function fatal(c: ReplicationConnection): string | undefined {
  if (!c.sqlThread && c.lastSqlErrno !== 0)
    return `SQL thread stopped: error ${c.lastSqlErrno}: ${c.lastSqlError}`;
  if (c.ioThread === "No" && c.lastIoErrno !== 0)
    return `IO thread stopped: error ${c.lastIoErrno}: ${c.lastIoError}`;
  return undefined;
}

/**
 * Waits until the connection's IO thread is "Yes" (connected, not "Connecting") and its SQL
 * thread runs. A thread stopped by an error fails at once (SQL_ERROR with the errno and
 * text); a thread still connecting or not started fails at the timeout (TIMEOUT with the
 * last IO/SQL errors). Read-only, so repeatable.
 */
export const verifyReplicating: StepRunner<"verify-replicating"> = async (ctx, step) => {
  const start = ctx.clock.now();
  for (;;) {
    const c = await findConnection(ctx.db, step.connection);
    if (!c) throw noSuchConnection(step.connection, "nothing replicates");
    if (c.ioThread === "Yes" && c.sqlThread) return { connection: c };
    const why = fatal(c);
    if (why) throw new StepError("SQL_ERROR", `'${step.connection}': ${why}`, { connection: c });
    const left = step.timeoutMs - (ctx.clock.now() - start);
    if (left <= 0) {
      throw new StepError(
        "TIMEOUT",
        `'${step.connection}' not replicating after ${step.timeoutMs} ms: IO ${c.ioThread}, SQL ${c.sqlThread ? "Yes" : "No"}; ${errorsOf(c)}`,
        { connection: c },
      );
    }
    await ctx.clock.sleep(Math.min(POLL_MS, left));
  }
};
