// The topology as a layered graph: the primary on top, each replica one row below the
// server it replicates from (the deepest source, for a multi-source replica), and servers
// attached to nothing (down, diverged, standalone) on a row of their own at the bottom.
import type { LinkState, ServerView } from "./servers.js";

export const NODE_WIDTH = 210;
export const NODE_HEIGHT = 104;
const ROW_GAP = 56;
const COL_GAP = 28;
const MARGIN = 16;

export interface GraphNode {
  readonly server: ServerView;
  readonly x: number;
  readonly y: number;
  /** On the bottom row: replicates from no one and is not the primary. */
  readonly detached: boolean;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly connection: string;
  readonly state: LinkState;
  /** One of several sources of the same replica. */
  readonly multiSource: boolean;
  /** SVG path from the source's bottom to the replica's top. */
  readonly path: string;
  readonly labelX: number;
  readonly labelY: number;
}

export interface Graph {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** Depth of every server reachable from the primary over replication links; others absent. */
function depths(servers: readonly ServerView[], primary: string | null): Map<string, number> {
  const depth = new Map<string, number>();
  if (primary && servers.some((s) => s.name === primary)) depth.set(primary, 0);
  // Relaxation bounded by the server count: a cycle of links cannot loop for ever.
  for (let round = 0; round < servers.length; round++) {
    let changed = false;
    for (const s of servers) {
      if (s.name === primary) continue;
      const known = s.sources.map((x) => depth.get(x.source)).filter((d) => d !== undefined);
      if (known.length === 0) continue;
      const d = Math.max(...known) + 1;
      if (d <= servers.length && depth.get(s.name) !== d) {
        depth.set(s.name, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

export function layoutGraph(servers: readonly ServerView[], primary: string | null): Graph {
  const depth = depths(servers, primary);
  const rows: ServerView[][] = [];
  for (const s of servers) {
    const d = depth.get(s.name);
    if (d === undefined) continue;
    const row = rows[d] ?? [];
    row.push(s);
    rows[d] = row;
  }
  const attached = rows.filter((r) => r !== undefined);
  const detached = servers.filter((s) => !depth.has(s.name));
  const allRows = detached.length > 0 ? [...attached, detached] : attached;
  const widest = Math.max(1, ...allRows.map((r) => r.length));
  const width = MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * COL_GAP;
  const nodes: GraphNode[] = [];
  allRows.forEach((row, r) => {
    const rowWidth = row.length * NODE_WIDTH + (row.length - 1) * COL_GAP;
    const left = (width - rowWidth) / 2;
    row.forEach((server, i) => {
      nodes.push({
        server,
        x: left + i * (NODE_WIDTH + COL_GAP),
        y: MARGIN + r * (NODE_HEIGHT + ROW_GAP),
        detached: !depth.has(server.name),
      });
    });
  });
  const at = new Map(nodes.map((n) => [n.server.name, n]));
  const edges: GraphEdge[] = [];
  for (const n of nodes) {
    const multiSource = n.server.sources.length > 1;
    n.server.sources.forEach((link, i) => {
      const src = at.get(link.source);
      if (!src) return;
      // Several links into one replica arrive side by side, not on one point.
      const spread = multiSource ? (i - (n.server.sources.length - 1) / 2) * 36 : 0;
      const x1 = src.x + NODE_WIDTH / 2;
      const y1 = src.y + NODE_HEIGHT;
      const x2 = n.x + NODE_WIDTH / 2 + spread;
      const y2 = n.y;
      const my = (y1 + y2) / 2;
      edges.push({
        from: link.source,
        to: n.server.name,
        connection: link.connection,
        state: link.state,
        multiSource,
        path: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`,
        labelX: (x1 + x2) / 2,
        labelY: my,
      });
    });
  }
  const height =
    MARGIN * 2 + allRows.length * NODE_HEIGHT + Math.max(0, allRows.length - 1) * ROW_GAP;
  return { width, height, nodes, edges };
}
