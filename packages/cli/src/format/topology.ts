// `marina topology`: the published topology as a tree — the primary, the replicas under
// their source, relays with theirs, a multi-source replica under each of its sources (its
// own replicas shown once) — then the servers attached to none of it.
import type { ClusterTopology } from "@marina/contracts";
import { paintReadOnly, paintRole } from "./roles.js";
import type { Style } from "./style.js";

type TopoServer = ClusterTopology["servers"][number];

export interface TreeOptions {
  readonly style: Style;
  /** Box-drawing branches; ASCII (`|--`, `` `-- ``) when false. */
  readonly unicode: boolean;
}

const BRANCHES = {
  unicode: { mid: "├── ", last: "└── ", pipe: "│   ", gap: "    " },
  ascii: { mid: "|-- ", last: "`-- ", pipe: "|   ", gap: "    " },
} as const;

export function formatTopologyTree(t: ClusterTopology, o: TreeOptions): string {
  const s = o.style;
  const b = o.unicode ? BRANCHES.unicode : BRANCHES.ascii;
  const byName = new Map(t.servers.map((x) => [x.name, x]));
  // Children of each server: who replicates from it, over which connection.
  const children = new Map<string, { server: TopoServer; connection: string }[]>();
  for (const x of t.servers) {
    for (const src of x.sources) {
      if (!byName.has(src.source)) continue;
      const list = children.get(src.source) ?? [];
      list.push({ server: x, connection: src.connection });
      children.set(src.source, list);
    }
  }
  const expanded = new Set<string>();
  const lines: string[] = [];
  const label = (x: TopoServer, connection: string | null, seen: boolean) => {
    const parts = [
      s.bold(x.name),
      paintRole(x.role, s),
      `${x.host}:${x.port}`,
      `read_only ${paintReadOnly(x.readOnly, x.role, s)}`,
      x.gtidCurrentPos
        ? x.gtidCurrentPos
        : s.dim(x.gtidCurrentPos === "" ? "no GTID yet" : "GTID unknown"),
    ];
    if (connection) parts.push(s.cyan(`via '${connection}'`));
    if (x.sources.length > 1) parts.push(s.cyan(`multi-source (${x.sources.length})`));
    if (seen) parts.push(s.dim("(shown above)"));
    if (x.reason && !seen) parts.push(s.dim(`— ${x.reason}`));
    return parts.join("  ");
  };
  const walk = (name: string, prefix: string) => {
    const kids = children.get(name) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const seen = expanded.has(k.server.name);
      lines.push(`${prefix}${last ? b.last : b.mid}${label(k.server, k.connection, seen)}`);
      if (seen) return;
      expanded.add(k.server.name);
      walk(k.server.name, `${prefix}${last ? b.gap : b.pipe}`);
    });
  };
  const writer = t.writer ? `${t.writer.server} ${t.writer.host}:${t.writer.port}` : s.red("none");
  lines.push(
    `cluster ${s.bold(t.cluster)}  writer ${writer}  generation ${t.generation}  epoch ${t.epoch}`,
  );
  const primary = t.primary !== null ? byName.get(t.primary) : undefined;
  if (primary) {
    expanded.add(primary.name);
    lines.push(label(primary, null, false));
    walk(primary.name, "");
  } else {
    lines.push(s.red("no primary"));
  }
  // Other roots: servers that replicate from no configured server (or that no walk reached).
  const rest = t.servers.filter((x) => !expanded.has(x.name));
  const roots = rest.filter((x) => !x.sources.some((src) => byName.has(src.source)));
  if (roots.length > 0) lines.push("not attached:");
  for (const r of roots) {
    expanded.add(r.name);
    lines.push(`${b.gap}${label(r, null, false)}`);
    walk(r.name, b.gap);
  }
  // Anything left replicates in a loop among itself: list it flat.
  const loop = t.servers.filter((x) => !expanded.has(x.name));
  if (loop.length > 0) {
    lines.push("in a replication loop:");
    for (const x of loop) {
      const from = x.sources.map((src) => src.source).join(", ");
      lines.push(`${b.gap}${label(x, null, false)}  ${s.red(`from ${from}`)}`);
    }
  }
  return lines.join("\n");
}
