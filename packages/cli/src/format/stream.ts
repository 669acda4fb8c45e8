// One line per message Marina published on a cluster's subjects (events, topology,
// operations): what `marina events` and a non-terminal `marina watch` print.
import type { ClusterEvent, ClusterTopology, OperationEvent } from "@marina/contracts";
import { paintSituation } from "./roles.js";
import type { Style } from "./style.js";
import { formatStamp } from "./units.js";

export type Published =
  | { kind: "event"; at: Date; event: ClusterEvent }
  | { kind: "topology"; at: Date; topology: ClusterTopology }
  | { kind: "operation"; at: Date; operation: OperationEvent };

export function formatPublished(p: Published, s: Style): string {
  const t = s.dim(formatStamp(p.at));
  switch (p.kind) {
    case "event": {
      const e = p.event;
      const extra = e.extraGtids ? ` ${s.red(`extra ${e.extraGtids}`)}` : "";
      return `${t}  ${paintSituation(e.situation, s)}${e.server ? ` ${s.bold(e.server)}` : ""}: ${e.reason}${extra}`;
    }
    case "topology": {
      const x = p.topology;
      const roles = x.servers.map((v) => `${v.name}=${v.role}`).join(" ");
      const writer = x.writer ? `${x.writer.server} (${x.writer.host}:${x.writer.port})` : "none";
      return `${t}  ${s.cyan("topology")} gen ${x.generation}: primary ${x.primary ?? "none"}, writer ${writer}  [${roles}]`;
    }
    case "operation": {
      const op = p.operation;
      const code = op.error ? ` [${op.error.code}]` : "";
      return `${t}  ${s.cyan(op.kind)} ${op.opId} ${op.state}/${op.phase}: ${op.message}${code}`;
    }
    default: {
      const never: never = p;
      return never;
    }
  }
}
