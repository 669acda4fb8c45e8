import type { CommandReply } from "@marina/contracts/commands";
import { startOperation } from "../engine/operation.js";
import { checkRebuild, rebuildStart } from "../plans/rebuild-check.js";
import type { CommandCall } from "./handler.js";
import { ok, refuse } from "./replies.js";

/** Rebuilds a server from a backup of a healthy replica or the primary (rebuild-check.ts). */
export function rebuildCommand({
  env,
  requestId,
  verb,
  payload,
}: CommandCall<"rebuild">): CommandReply {
  const check = checkRebuild(env, payload);
  if (!check.ok) return refuse(verb, check.code, check.message, check.path);
  const op = startOperation(
    env,
    rebuildStart(env, check, {
      requestId,
      auto: false,
      reason:
        payload.reason ??
        `rebuild ${check.target} from ${check.source}${check.chosen ? " (chosen)" : ""}`,
    }),
  );
  return ok(verb, `rebuild of ${check.target} from ${check.source} started`, { opId: op.opId });
}
