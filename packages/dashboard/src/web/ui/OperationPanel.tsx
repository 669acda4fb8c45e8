// The running operation (or the last one), its phases as a list of steps done, current or
// failed, and a rebuild's progress. Announced politely to screen readers as it changes.
import type { OperationView } from "../model/operation.js";

const STATE_TEXT = {
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
  refused: "refused",
  ended: "ended",
} as const;

export function OperationPanel({ op }: { op: OperationView | null }) {
  return (
    <section class="card" aria-labelledby="op-h" data-testid="operation">
      <h2 id="op-h">{op?.state === "running" ? "Running operation" : "Last operation"}</h2>
      <div aria-live="polite">
        {!op ? (
          <p class="muted">No operation yet.</p>
        ) : (
          <>
            <p class="op-title">
              <span class={`chip state-${op.state}`} data-testid="op-state">
                {STATE_TEXT[op.state]}
              </span>{" "}
              <strong data-testid="op-title">{op.title}</strong>{" "}
              <span class="muted">{[op.elapsed, op.opId].filter(Boolean).join(" · ")}</span>
            </p>
            <ol class="phases" data-testid="phases">
              {op.phases.map((p, i) => (
                <li key={`${p.name}-${i}`} class={`phase phase-${p.state}`} data-phase={p.name}>
                  <span class="phase-icon" aria-hidden="true">
                    {p.state === "done" ? "✓" : p.state === "failed" ? "✕" : "▸"}
                  </span>
                  <span class="phase-name">{p.name}</span>
                  <span class="phase-time">
                    {p.state === "current" ? "in progress" : (p.duration ?? "")}
                  </span>
                </li>
              ))}
              {op.phases.length === 0 && <li class="muted">starting…</li>}
            </ol>
            {op.progress && (
              <div class="progress">
                <progress
                  max={100}
                  value={op.progress.percent ?? undefined}
                  aria-label="rebuild progress"
                />
                <p>
                  {op.progress.done}
                  {op.progress.percent !== null ? ` (${op.progress.percent} %)` : ""} ·{" "}
                  {op.progress.rate}
                  {op.progress.eta ? ` · ETA ${op.progress.eta}` : ""}
                </p>
              </div>
            )}
            <p class="op-message">{op.message}</p>
            {op.error && <p class="danger-text">{op.error}</p>}
          </>
        )}
      </div>
    </section>
  );
}
