// The bar an operator reads first: the cluster, its primary and writer, who leads, whether
// automation is paused, and whether the page is live.
import type { StatusData } from "../model/api-types.js";
import type { ClusterView } from "../model/servers.js";
import type { Connection } from "../model/state.js";

const STREAM_TEXT: Record<Connection, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  unauthorized: "needs a token",
};

interface Props {
  cluster: string | null;
  status: StatusData | null;
  statusError: string | null;
  view: ClusterView;
  stream: Connection;
  hasToken: boolean;
  onForget: () => void;
}

export function Header({ cluster, status, statusError, view, stream, hasToken, onForget }: Props) {
  const paused = status?.paused;
  return (
    <header class="top">
      <h1>
        Marina <span class="cluster">{cluster ?? "…"}</span>
      </h1>
      <dl class="facts">
        <div>
          <dt>primary</dt>
          <dd data-testid="primary" class={view.primary ? "strong" : "danger-text"}>
            {view.primary ?? "none"}
          </dd>
        </div>
        <div>
          <dt>writer</dt>
          <dd class={view.writer ? "" : "danger-text"}>{view.writer ?? "none"}</dd>
        </div>
        <div>
          <dt>leader</dt>
          <dd>{status ? `${status.decider} (epoch ${status.epoch})` : "—"}</dd>
        </div>
        <div>
          <dt>automation</dt>
          <dd class={paused ? "warn-text" : ""} title={paused ? paused.reason : undefined}>
            {paused ? `paused by ${paused.by ?? "?"}` : "active"}
          </dd>
        </div>
      </dl>
      <div class="conn">
        <span class={`dot ${stream}`} aria-hidden="true" />
        <span data-testid="stream" role="status">
          {STREAM_TEXT[stream]}
          {statusError && stream === "live" ? ` · status: ${statusError}` : ""}
        </span>
        {hasToken && (
          <button type="button" class="link" onClick={onForget}>
            Forget token
          </button>
        )}
      </div>
    </header>
  );
}
