import { check, MarinaError, ServerObservation } from "@marina/contracts";
import type { Session } from "../db.js";
import { text } from "../rows.js";
import * as sql from "../sql.js";
import { mapObservation } from "../status.js";
import { isClientThread, mapThread } from "../threads.js";
import type { StepContext, StepData, StepRunner } from "./context.js";

/** Everything the decider needs to judge one server; the same shape the monitor reports. */
export async function readObservation(
  db: Session,
  protectedUsers: ReadonlySet<string>,
): Promise<ServerObservation> {
  const [state] = await db.rows(sql.SELECT_SERVER_STATE);
  if (!state) throw new MarinaError("INTERNAL", "server state query returned no row");
  const semiSyncVariables = await db.rows(sql.SHOW_SEMI_SYNC_VARIABLES);
  const semiSyncStatus = await db.rows(sql.SHOW_SEMI_SYNC_STATUS);
  const slaves = await db.rows(sql.SHOW_ALL_SLAVES);
  const ownId = Number(text(state, "connection_id"));
  const threads = (await db.rows(sql.SELECT_THREADS)).map(mapThread);
  const clientConnections = threads.filter((t) => isClientThread(t, ownId, protectedUsers)).length;
  const obs = mapObservation({
    state,
    semiSyncVariables,
    semiSyncStatus,
    slaves,
    clientConnections,
  });
  // Checked like any outbound message, so a surprise from the server is a clear error.
  const r = check(ServerObservation, obs);
  if (!r.ok)
    throw new MarinaError("INTERNAL", `inspection does not fit the contract: ${r.error.message}`);
  return r.value;
}

export function marinaUsers(ctx: StepContext): Set<string> {
  return new Set([ctx.cluster.admin.user, ctx.cluster.replication.user]);
}

/** Reads state; changes nothing. */
export const inspect: StepRunner<"inspect"> = async (ctx): Promise<StepData> =>
  readObservation(ctx.db, marinaUsers(ctx));
