import type { Diagnosis } from "./diagnose/findings.js";
import type { PauseRecord } from "./state.js";

// What a paused cluster holds back (pause.ts): the diagnosis's automatic actions.

/** What the diagnosis would have Marina do on its own now, one line each. */
export function automaticIntents(d: Diagnosis, primary: string | null): string[] {
  const out: string[] = [];
  if (d.failover) out.push(`failover to ${d.failover.choice.candidate}: ${d.failover.reason}`);
  else if (d.blocked?.code === "paused" && primary !== null) {
    out.push(`failover of ${primary}: ${d.assessment?.reason ?? "the primary is dead"}`);
  }
  if (d.rejoin) out.push(`rejoin ${d.rejoin.server}: ${d.rejoin.why}`);
  for (const f of d.fences) if (!f.kill) out.push(`fence ${f.server}: ${f.why}`);
  if (d.restoreWrites) {
    out.push(`restore writes on ${d.restoreWrites.server}: ${d.restoreWrites.why}`);
  }
  if (d.enforceStrict) out.push(`strict semi-sync settings on ${d.enforceStrict}`);
  return out;
}

/**
 * The diagnosis with every automatic action taken out while paused (the findings stay: they
 * are reported as usual). Unchanged when not paused. Not the fences of a former primary, a
 * diverged server or another writable one found beside the primary (`kill: true`): a pause
 * must never leave two servers taking writes. Nor semi-sync turned off on a replica that is
 * never promoted (durability.ts). Only the enforcement of read_only on a writable replica
 * waits.
 */
export function holdWhilePaused(d: Diagnosis, paused: PauseRecord | null): Diagnosis {
  if (paused === null) return d;
  return {
    ...d,
    failover: null,
    rejoin: null,
    fences: d.fences.filter((f) => f.kill),
    restoreWrites: null,
    enforceStrict: null,
    // Kept: like the fences of a former primary, a safety measure, not automation — a
    // replica that is never promoted must not acknowledge writes while the pause lasts.
  };
}
