import type { Situation } from "@marina/contracts/events";
import type { DeciderState } from "./state.js";

// Events are emitted when a subject's situation CHANGES, not on every sample: the state keeps
// the active tags per subject (a server, or CLUSTER for cluster-wide ones). A tag is the
// situation name, or `name:code` where one situation has distinct causes (FailoverBlocked).

export const CLUSTER = "*";

export function tagOf(situation: Situation, code?: string): string {
  return code ? `${situation}:${code}` : situation;
}

export function situationOfTag(tag: string): Situation {
  return tag.split(":")[0] as Situation;
}

/** Records a tag emitted outside the diagnosis (by a plan) so it is not emitted again. */
export function noteSituation(state: DeciderState, subject: string, tag: string) {
  const have = state.situations[subject] ?? [];
  if (!have.includes(tag)) state.situations[subject] = [...have, tag].sort();
}
