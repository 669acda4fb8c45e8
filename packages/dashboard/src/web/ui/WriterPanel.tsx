// The sandbox writer's counts: writes acknowledged, and acknowledged writes later found
// missing on the writer (lost), read from the URL the page was given (`?writer=`).
import type { WriterStats } from "../model/api-types.js";
import { writerView } from "../model/writer.js";

interface Props {
  writer: { stats: WriterStats | null; error: string | null } | null;
  now: number;
  url: string;
}

export function WriterPanel({ writer, now, url }: Props) {
  const v = writer?.stats ? writerView(writer.stats, now) : null;
  return (
    <section class="card" aria-labelledby="writer-h" data-testid="writer">
      <h2 id="writer-h">
        Test writer <span class="muted small">(the sandbox's, at {new URL(url).host})</span>
      </h2>
      {!v ? (
        <p class="muted">{writer?.error ? `cannot read it: ${writer.error}` : "waiting…"}</p>
      ) : (
        <>
          <dl class="counts">
            <div>
              <dt>acknowledged</dt>
              <dd data-testid="writer-acked">{v.acknowledged}</dd>
            </div>
            <div>
              <dt>lost</dt>
              <dd data-testid="writer-lost" class={`lost-${v.lostTone}`}>
                {v.lost}
              </dd>
            </div>
            <div>
              <dt>in doubt</dt>
              <dd>{v.inDoubt}</dd>
            </div>
            <div>
              <dt>refused</dt>
              <dd>{v.refused}</dd>
            </div>
          </dl>
          <p class="small">
            writing to <strong>{v.target}</strong> at {v.rate} · lost checked {v.checked}
            {v.lastError && <span class="muted"> · last error: {v.lastError}</span>}
          </p>
        </>
      )}
    </section>
  );
}
