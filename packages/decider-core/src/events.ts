import { type ClusterEvent, type Situation, Situations } from "@marina/contracts/events";
import type { Action } from "./types.js";

type Detail = string | number | boolean | null;

/** A ClusterEvent action; every event carries the leader epoch and says why. */
export function situationEvent(
  cluster: string,
  epoch: number,
  situation: Situation,
  server: string | null,
  reason: string,
  extra: { extraGtids?: string | null; details?: Record<string, Detail> } = {},
): Action {
  const event: ClusterEvent = {
    cluster,
    situation,
    actionable: Situations[situation].actionable,
    server,
    reason: reason.slice(0, 4096),
    epoch,
    extraGtids: extra.extraGtids ?? null,
    details: extra.details ?? {},
  };
  return {
    kind: "event",
    event,
    reason: `${situation}${server ? ` on ${server}` : ""}: ${reason}`,
  };
}
