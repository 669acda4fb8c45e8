// The screen of `marina watch` on a terminal, redrawn on every message: the topology tree,
// the running (or last) operation with its progress, and the latest events.
import type { ClusterEvent, ClusterTopology, OperationEvent } from "@marina/contracts";
import { formatProgress, formatTimings, isFinal } from "./operation.js";
import { paintSituation } from "./roles.js";
import type { Style } from "./style.js";
import { formatTopologyTree } from "./topology.js";
import { formatClock, formatDuration } from "./units.js";

export interface WatchModel {
  readonly cluster: string;
  readonly topology: ClusterTopology | null;
  /** The latest message of the latest operation. */
  readonly operation: { readonly at: Date; readonly event: OperationEvent } | null;
  readonly events: readonly { readonly at: Date; readonly event: ClusterEvent }[];
  /** False while the NATS connection is down (the client reconnects by itself). */
  readonly connected: boolean;
}

export function renderWatch(m: WatchModel, now: Date, s: Style): string {
  const lines = [
    `${s.bold("marina watch")}  cluster ${s.bold(m.cluster)}  ${formatClock(now, now)}${m.connected ? "" : s.red("  NATS disconnected, reconnecting…")}  ${s.dim("Ctrl-C quits")}`,
    "",
    m.topology
      ? formatTopologyTree(m.topology, { style: s, unicode: true })
      : s.dim("no topology published yet"),
    "",
    ...operationLines(m, now, s),
    "",
    "recent events:",
    ...(m.events.length === 0
      ? [s.dim("  none")]
      : m.events.map(
          ({ at, event: e }) =>
            `  ${s.dim(formatClock(at, now))}  ${paintSituation(e.situation, s)}${e.server ? ` ${e.server}` : ""}: ${e.reason}`,
        )),
  ];
  return lines.join("\n");
}

function operationLines(m: WatchModel, now: Date, s: Style): string[] {
  const o = m.operation;
  if (o === null) return [`operation: ${s.dim("none seen")}`];
  const ev = o.event;
  if (!isFinal(ev)) {
    const running = now.getTime() - new Date(ev.startedAt).getTime();
    const lines = [
      `operation: ${s.cyan(ev.kind)} ${ev.opId}  phase ${s.bold(ev.phase)}  running for ${formatDuration(running)}`,
      `  ${ev.message}`,
    ];
    if (ev.progress) lines.push(`  ${formatProgress(ev.progress)}`);
    return lines;
  }
  const state =
    ev.state === "succeeded"
      ? s.green(ev.state)
      : ev.state === "cancelled"
        ? s.yellow(ev.state)
        : s.red(ev.state);
  const timings = formatTimings(ev.timings);
  return [
    `last operation: ${s.cyan(ev.kind)} ${ev.opId} ${state} ${formatClock(o.at, now)}: ${ev.message}`,
    ...(timings ? [s.dim(`  ${timings}`)] : []),
  ];
}
