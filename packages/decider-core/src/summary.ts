import type { Action } from "./types.js";

/**
 * A one-line summary of an action: what a recorded stream stores and a replay compares.
 * Stable across runs for the same inputs (no times, no message ids).
 */
export function summarizeAction(a: Action): string {
  switch (a.kind) {
    case "event":
      return `event ${a.event.situation} ${a.event.server ?? "*"}`;
    case "topology":
      return `topology ${a.topology.primary ?? "-"} ${a.topology.servers.map((s) => `${s.name}:${s.role}`).join(",")}`;
    case "step":
      return `step ${a.request.server} ${a.request.step.kind} ${a.request.stepId}`;
    case "operation":
      return `operation ${a.event.kind} ${a.event.state} ${a.event.phase}`;
    case "reply":
      return `reply ${a.reply.ok ? "ok" : a.reply.error.code}`;
    case "agent":
      return `agent ${a.request.host} ${a.request.request.action}`;
    case "history":
      return `history ${a.record.kind} ${a.record.outcome} ${a.record.id}`;
    default: {
      const never: never = a;
      return never;
    }
  }
}
