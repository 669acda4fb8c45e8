import type { DryRunPhase, DryRunReport } from "@marina/contracts/dry-run";

// A dry-run report within its schema's limits (contracts' dry-run.ts), whatever the cluster:
// a reply that broke them would be refused by the decider's own outbound check. Texts are
// clipped with a mark, lists cut to their maximum; assumptions repeated per step are
// merged first. Pure.

const clip = (t: string, max: number) => (t.length <= max ? t : `${t.slice(0, max - 1)}…`);
const cap = <T>(xs: readonly T[], max: number): T[] => xs.slice(0, max);

function fitPhase(p: DryRunPhase): DryRunPhase {
  return {
    ...p,
    name: clip(p.name, 64),
    dependsOn: cap([...new Set(p.dependsOn)], 64).map((d) => clip(d, 1024)),
    message: clip(p.message, 4096),
    steps: cap(p.steps, 512).map((st) => ({
      ...st,
      key: clip(st.key, 256),
      description: clip(st.description, 1024),
      after: cap(st.after, 64).map((a) => clip(a, 256)),
      sql: cap(st.sql, 32).map((q) => clip(q, 2048)),
    })),
    agentCalls: cap(p.agentCalls, 16).map((c) => ({
      ...c,
      key: clip(c.key, 256),
      description: clip(c.description, 1024),
      programs: cap(c.programs, 16).map((x) => clip(x, 1024)),
    })),
  };
}

export function fitReport(r: DryRunReport): DryRunReport {
  const assumptions = [...new Set(r.assumptions)].map((a) => clip(a, 1024));
  const more = assumptions.length - 31;
  return {
    ...r,
    message: clip(r.message, 4096),
    error: r.error ? { ...r.error, message: clip(r.error.message, 4096) } : null,
    operation: r.operation
      ? {
          ...r.operation,
          reason: clip(r.operation.reason, 4096),
          phases: cap(r.operation.phases, 64).map(fitPhase),
          end: r.operation.end
            ? { ...r.operation.end, message: clip(r.operation.end.message, 4096) }
            : null,
          stoppedAt: r.operation.stoppedAt === null ? null : clip(r.operation.stoppedAt, 1024),
        }
      : null,
    candidates:
      r.candidates === null
        ? null
        : cap(r.candidates, 64).map((c) => ({
            ...c,
            position: clip(c.position, 4096),
            reason: clip(c.reason, 1024),
          })),
    events: cap(r.events, 64).map((e) => ({
      ...e,
      situation: clip(e.situation, 64),
      reason: clip(e.reason, 4096),
    })),
    assumptions:
      more > 1
        ? [...assumptions.slice(0, 31), `… and ${more} more assumptions like these`]
        : assumptions,
  };
}
