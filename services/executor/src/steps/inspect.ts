import { check, MarinaError, ServerObservation } from "@marina/contracts";
import { readObservation } from "@marina/mariadb";
import type { StepContext, StepData, StepRunner } from "./context.js";

/**
 * Accounts whose sessions are Marina's own: never clients (kill-clients leaves them) —
 * the executors' (admin), the replicas' and the monitor's, when it has its own.
 */
export function marinaUsers(ctx: StepContext): Set<string> {
  const { admin, replication, monitorUser } = ctx.cluster;
  return new Set([admin.user, replication.user, ...(monitorUser ? [monitorUser] : [])]);
}

/**
 * Reads state; changes nothing. The monitor's probe, statement by statement (this
 * connection takes no statement lists), mapped the same way: the same ServerObservation a
 * health sample carries, with `quietMs` null (one reading) and no disks.
 */
export const inspect: StepRunner<"inspect"> = async (ctx): Promise<StepData> => {
  const obs = await readObservation((sql) => ctx.db.rows(sql));
  // Checked like any outbound message, so a surprise from the server is a clear error.
  const r = check(ServerObservation, obs);
  if (!r.ok) {
    throw new MarinaError("INTERNAL", `inspection does not fit the contract: ${r.error.message}`);
  }
  return r.value;
};
