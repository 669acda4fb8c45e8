import type { Observed } from "./observer.js";

/** One line per published message, for people watching the demo. */
export function formatObserved(o: Observed): string {
  const t = new Date().toISOString().slice(11, 23);
  switch (o.kind) {
    case "topology": {
      const t2 = o.topology;
      const roles = t2.servers.map((s) => `${s.name}=${s.role}`).join(" ");
      return `${t} TOPOLOGY gen ${t2.generation}: primary ${t2.primary ?? "-"} writer ${t2.writer ? `${t2.writer.host}:${t2.writer.port}` : "-"}  [${roles}]`;
    }
    case "event":
      return `${t} EVENT ${o.event.situation}${o.event.server ? ` ${o.event.server}` : ""}: ${o.event.reason}${o.event.extraGtids ? ` extra=${o.event.extraGtids}` : ""}`;
    case "operation": {
      const op = o.operation;
      const timings = Object.entries(op.timings)
        .map(([k, v]) => `${k}=${Math.round(v)}ms`)
        .join(" ");
      return `${t} OP ${op.kind} ${op.opId} ${op.state}/${op.phase}: ${op.message}${op.error ? ` [${op.error.code}]` : ""}${op.state !== "running" && timings ? ` (${timings})` : ""}`;
    }
    case "observed": {
      const v = o.observed;
      const parts = [
        `primaries ${v.primaries.join(",") || "-"}`,
        `replicas ${v.replicas.join(",") || "-"}`,
        v.relays.length ? `relays ${v.relays.join(",")}` : "",
        v.unreachable.length ? `unreachable ${v.unreachable.join(",")}` : "",
        v.brokenLinks.length
          ? `broken ${v.brokenLinks.map((l) => `${l.replica}<-${l.source ?? "?"}`).join(",")}`
          : "",
        v.writableReplicas.length ? `writable replicas ${v.writableReplicas.join(",")}` : "",
      ];
      return `${t} OBSERVED by ${v.monitor}: ${parts.filter(Boolean).join("; ")}`;
    }
    default: {
      const never: never = o;
      return never;
    }
  }
}
