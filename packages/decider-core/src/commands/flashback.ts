import type { CommandReply } from "@marina/contracts/commands";
import { describeUndo } from "@marina/contracts/executor";
import { startOperation } from "../engine/operation.js";
import { checkFlashback } from "../policies/flashback-check.js";
import type { CommandCall } from "./handler.js";
import { busy, ok, refuse, unknownServer } from "./replies.js";

/** Undoes a diverged server's saved extra transactions, then rejoins it (plans/flashback.ts). */
export function flashbackCommand({
  env,
  requestId,
  verb,
  payload,
}: CommandCall<"flashback">): CommandReply {
  const check = checkFlashback(env, payload.server, false);
  if (!check.ok) {
    if (check.code === "UNKNOWN_SERVER") return unknownServer(env, verb, payload.server, "server");
    if (check.code === "OPERATION_IN_PROGRESS") return busy(env, verb);
    return refuse(verb, check.code, check.message, check.path);
  }
  const { server, primary } = check.start.servers as { server: string; primary: string };
  const op = startOperation(env, {
    ...check.start,
    requestId,
    reason:
      payload.reason ??
      `flashback ${server}: undo ${describeUndo(check.verdict)}, rejoin ${primary}`,
  });
  return ok(verb, `flashback of ${server} started: undoing ${describeUndo(check.verdict)}`, {
    opId: op.opId,
  });
}
