// The operation history (MARINA_HISTORY), newest first: what ran, who asked, how it ended.
import type { OperationRecord } from "../model/api-types.js";
import { formatAge, formatDuration } from "../model/format.js";

export function HistoryPanel({
  records,
  now,
}: {
  records: readonly OperationRecord[];
  now: number;
}) {
  return (
    <section class="card" aria-labelledby="history-h">
      <h2 id="history-h">Operation history</h2>
      {records.length === 0 ? (
        <p class="muted">No operation recorded yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="history" data-testid="history">
            <thead>
              <tr>
                <th scope="col">when</th>
                <th scope="col">operation</th>
                <th scope="col">outcome</th>
                <th scope="col">took</th>
                <th scope="col">by</th>
                <th scope="col">phases</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.id}>
                  <td>{formatAge(r.endedAt, now)}</td>
                  <td>
                    {r.kind}{" "}
                    <span class="muted">
                      {Object.entries(r.servers)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(", ")}
                    </span>
                  </td>
                  <td>
                    <span class={`chip state-${r.outcome}`}>{r.outcome}</span>
                  </td>
                  <td>{formatDuration(r.durationMs)}</td>
                  <td>{r.trigger === "automatic" ? "Marina" : (r.request?.source ?? "command")}</td>
                  <td class="small">{r.phases.map((p) => p.name).join(" → ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
