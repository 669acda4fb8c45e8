// Recent events, newest first: each situation with its severity in words and colour.
import { feedRows } from "../model/feed.js";
import { formatClock } from "../model/format.js";
import type { FeedItem } from "../model/state.js";

export function Feed({ feed }: { feed: readonly FeedItem[] }) {
  const rows = feedRows(feed);
  return (
    <section class="card" aria-labelledby="feed-h">
      <h2 id="feed-h">Recent events</h2>
      {rows.length === 0 ? (
        <p class="muted">Nothing yet.</p>
      ) : (
        <ul class="feed" data-testid="feed">
          {rows.map((r) => (
            <li key={r.key} class={`sev-${r.severity}`}>
              <time dateTime={r.time}>{formatClock(r.time)}</time>
              <span class="sev">{r.severity}</span>
              <span class="what">
                <strong>{r.title}</strong>
                {r.server ? ` ${r.server}` : ""} — {r.text}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
