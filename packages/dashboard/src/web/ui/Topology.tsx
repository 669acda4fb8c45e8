// The topology graph: each server a box with its role, read_only, GTID, lag and agent, each
// replication link an arrow from source to replica (dashed red: broken; amber: lagging).
// The table below says the same in text; the graph's own label summarises it.
import type { Graph, GraphNode } from "../model/graph.js";
import { NODE_HEIGHT, NODE_WIDTH } from "../model/graph.js";
import type { ClusterView, Mark } from "../model/servers.js";

const MARK_TEXT: Record<Mark, string> = {
  writer: "WRITER",
  down: "DOWN",
  diverged: "DIVERGED",
  fenced: "FENCED",
  maintenance: "MAINT",
  broken: "LINK BROKEN",
  lagging: "LAGGING",
};

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function Node({ n }: { n: GraphNode }) {
  const s = n.server;
  const marks = s.marks.filter((m) => m !== "writer");
  return (
    <g
      transform={`translate(${n.x} ${n.y})`}
      class={`node tone-${s.tone}`}
      data-server={s.name}
      data-role={s.role}
    >
      <title>{`${s.name} (${s.address}): ${s.role}${s.reason ? ` — ${s.reason}` : ""}`}</title>
      <rect class="box" width={NODE_WIDTH} height={NODE_HEIGHT} rx="8" />
      <rect class="band" width={NODE_WIDTH} height="28" rx="8" />
      <rect class="band" y="18" width={NODE_WIDTH} height="10" />
      <text class="name" x="10" y="19">
        {s.name}
      </text>
      <text class="role" x={NODE_WIDTH - 10} y="19" text-anchor="end">
        {s.role.toUpperCase()}
        {s.marks.includes("writer") ? " · WRITER" : ""}
      </text>
      <text class="line" x="10" y="46">
        {`read_only ${s.readOnly} · lag ${s.lag}`}
      </text>
      <text class="line mono" x="10" y="64">
        {clip(`gtid ${s.gtid}`, 32)}
      </text>
      <text class={`line agent-${s.agent.state}`} x="10" y="82">
        {clip(`agent ${s.agent.text}`, 32)}
      </text>
      {marks.length > 0 && (
        <text class="marks" x="10" y="98">
          {marks.map((m) => MARK_TEXT[m]).join(" · ")}
        </text>
      )}
    </g>
  );
}

export function Topology({ graph, view }: { graph: Graph; view: ClusterView }) {
  const summary =
    view.servers.length === 0
      ? "No servers known yet."
      : `Primary ${view.primary ?? "none"}. ${view.servers.map((s) => `${s.name}: ${s.role}`).join("; ")}.`;
  return (
    <section class="card" aria-labelledby="topology-h">
      <h2 id="topology-h">Topology</h2>
      {view.servers.length === 0 ? (
        <p class="muted">Waiting for the first topology…</p>
      ) : (
        <svg
          class="graph"
          viewBox={`0 0 ${graph.width} ${graph.height}`}
          width={graph.width}
          height={graph.height}
          role="img"
          aria-label={summary}
        >
          <defs>
            {["ok", "broken", "lagging", "down"].map((st) => (
              <marker
                key={st}
                id={`arrow-${st}`}
                viewBox="0 0 10 10"
                refX="9"
                refY="5"
                markerWidth="7"
                markerHeight="7"
                orient="auto-start-reverse"
              >
                <path d="M 0 0 L 10 5 L 0 10 z" class={`arrow-${st}`} />
              </marker>
            ))}
          </defs>
          {graph.edges.map((e) => (
            <g key={`${e.from}-${e.to}-${e.connection}`} class={`edge edge-${e.state}`}>
              <path d={e.path} marker-end={`url(#arrow-${e.state})`} />
              {(e.multiSource || e.state !== "ok") && (
                <text x={e.labelX + 6} y={e.labelY} class="edge-label">
                  {e.multiSource && e.connection ? `${e.connection} ` : ""}
                  {e.state !== "ok" ? e.state : ""}
                </text>
              )}
            </g>
          ))}
          {graph.nodes.map((n) => (
            <Node key={n.server.name} n={n} />
          ))}
        </svg>
      )}
      <p class="legend">
        <span class="chip tone-primary">primary</span>
        <span class="chip tone-replica">replica</span>
        <span class="chip tone-relay">relay</span>
        <span class="chip tone-danger">down</span>
        <span class="chip tone-diverged">diverged</span>
        <span class="chip tone-fenced">fenced</span>
        <span class="legend-link">→ replicates from</span>
        <span class="legend-link broken">⇢ broken link</span>
      </p>
    </section>
  );
}
