import type { CommandReply } from "@marina/contracts/commands";
import { replicatingFine } from "../donors.js";
import { startOperation } from "../engine/operation.js";
import { situationEvent } from "../events.js";
import { connectionsTo, currentObservation, isKnownServer, sourceOf } from "../knowledge.js";
import type { Env } from "../plans/common.js";
import { checkRejoin, historyOf, type RejoinCheck } from "../plans/rejoin.js";
import { noteSituation } from "../situations.js";
import type { CommandCall } from "./handler.js";
import { busy, ok, refuse, unknownServer } from "./replies.js";

/** Rejoins a server to the primary when its position is contained in the primary's history. */
export function rejoinCommand({
  env,
  requestId,
  verb,
  payload,
}: CommandCall<"rejoin">): CommandReply {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const { server } = payload;
  if (!isKnownServer(config, server)) return unknownServer(env, verb, server, "server");
  if (state.operation) return busy(env, verb);
  const primary = state.primary;
  if (primary === null) return refuse(verb, "NOT_APPLICABLE", "no primary is known");
  if (server === primary) return refuse(verb, "NOT_APPLICABLE", `${server} is the primary`);
  if (state.maintenance[server])
    return refuse(verb, "REFUSED", `${server} is in maintenance: clear-maintenance first`);
  const dv = state.diverged[server];
  if (dv)
    return refuse(verb, "NOT_APPLICABLE", `${server} diverged (${dv.extraGtids}): rebuild it`);
  const obs = currentObservation(state, config, server, now);
  if (!obs) return refuse(verb, "SERVER_UNREACHABLE", `${server} is not reachable`);
  const pobs = currentObservation(state, config, primary, now);
  if (!pobs) return refuse(verb, "NOT_APPLICABLE", `the primary ${primary} is not reachable`);
  const check = checkRejoin(obs, historyOf(pobs));
  if (!check.ok) {
    if (check.diverged) flagDiverged(env, server, check);
    return refuse(verb, "NOT_APPLICABLE", `${server} ${check.reason}`);
  }
  if (!state.exPrimaries[server] && replicatingFine(env, server)) {
    return refuse(verb, "NOT_APPLICABLE", `${server} already replicates from the topology`);
  }
  const toPrimary = connectionsTo(config, obs, primary)[0];
  const stray = obs.replication.find((c) => sourceOf(config, c) !== null);
  const conn = toPrimary ?? stray;
  const op = startOperation(env, {
    kind: "rejoin",
    requestId,
    reason: payload.reason ?? `rejoin ${server} to ${primary}`,
    servers: { server, primary },
    plan: {
      kind: "rejoin",
      server,
      primary,
      connection: conn?.connection ?? "",
      useGtid: conn?.usingGtid === "Current_Pos" ? "current_pos" : "slave_pos",
      wasPrimary: state.exPrimaries[server] !== undefined,
      auto: false,
    },
  });
  return ok(verb, `rejoin of ${server} to ${primary} started`, { opId: op.opId });
}

/** The server has transactions the primary lacks: flagged diverged, left for a rebuild. */
function flagDiverged(env: Env, server: string, check: Extract<RejoinCheck, { ok: false }>) {
  const { state, ctx } = env;
  const situation = state.exPrimaries[server] ? "OldPrimaryDiverged" : "ServerDiverged";
  state.diverged[server] = {
    since: ctx.now,
    extraGtids: check.extra,
    reason: check.reason,
    situation,
  };
  delete state.exPrimaries[server];
  noteSituation(state, server, situation);
  env.actions.push(
    situationEvent(
      ctx.config.name,
      ctx.epoch,
      situation,
      server,
      `${server} ${check.reason}: left for a rebuild`,
      { extraGtids: check.extra },
    ),
  );
}
