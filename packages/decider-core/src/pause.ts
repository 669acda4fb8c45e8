import type { PauseRecord } from "./state.js";

// Automation paused (cmd.pause, like Patroni's pause or orchestrator's recovery disable):
// the leader keeps learning, diagnosing and reporting, and runs every command, but starts
// nothing on its own — no failover (a FailoverBlocked:paused block, see constraints.ts), no
// rejoin, no automatic rebuild, no enforcement fence, no writes restored, no strict
// settings (held-automation.ts). An operation already running goes on (cancel it to stop
// it). The state keeps the pause, so it outlives a decider restart and a change of leader.

/** Why nothing starts: said by the Paused situation, FailoverBlocked:paused and the status. */
export function pausedReason(p: PauseRecord): string {
  const by = p.by ? ` by ${p.by}` : "";
  return `automation paused since ${new Date(p.since).toISOString()}${by} (${p.reason}): nothing starts on its own; commands still run (resume: cmd.resume)`;
}
