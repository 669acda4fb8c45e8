// Every metric the agent exports (docs/metrics.md), in a registry of its own: transfers
// (rebuild streams) counted as they end, their rate as progress reports it, and the
// self-fence's state read at every scrape.
import {
  Counter,
  Gauge,
  Histogram,
  metricsRegistry,
  type Registry,
  type RegistryOptions,
} from "@marina/runtime";
import type { SelfFenceState } from "./self-fence/watcher.js";

/** send-backup sends, receive-backup receives. */
export type Direction = "sent" | "received";

export const directionOf = (action: string): Direction =>
  action === "send-backup" ? "sent" : "received";

export interface AgentMetricsSources {
  /** Transfers running now. */
  readonly transfersRunning: () => number;
  /** The self-fence's view; undefined when it is disabled. */
  readonly selfFence: () => SelfFenceState | undefined;
}

export class AgentMetrics {
  readonly registry: Registry;
  readonly transfers: Counter<"action" | "method" | "result">;
  readonly transferBytes: Counter<"direction">;
  readonly transferRate: Gauge<"direction">;
  readonly transferDuration: Histogram<"action">;
  readonly selfFences: Counter<"cluster" | "server">;

  constructor(sources: AgentMetricsSources, o: RegistryOptions = {}) {
    this.registry = metricsRegistry(o);
    const registers = [this.registry];
    this.transfers = new Counter({
      name: "marina_agent_transfers_total",
      help: "Rebuild streams ended, by action (send-backup, receive-backup), method (physical, logical) and result (succeeded, failed, cancelled).",
      labelNames: ["action", "method", "result"],
      registers,
    });
    this.transferBytes = new Counter({
      name: "marina_agent_transfer_bytes_total",
      help: "Bytes streamed by the transfers that succeeded, sent or received.",
      labelNames: ["direction"],
      registers,
    });
    this.transferRate = new Gauge({
      name: "marina_agent_transfer_rate_bytes_per_second",
      help: "The last transfer's rate: live while it streams, its average once it succeeded.",
      labelNames: ["direction"],
      registers,
    });
    this.transferDuration = new Histogram({
      name: "marina_agent_transfer_duration_seconds",
      help: "Request to end of the transfers, by action.",
      labelNames: ["action"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
      registers,
    });
    this.selfFences = new Counter({
      name: "marina_agent_self_fences_total",
      help: "Local servers this agent fenced on its own (read_only=1, clients killed) with coordination lost.",
      labelNames: ["cluster", "server"],
      registers,
    });
    new Gauge({
      name: "marina_agent_transfers_running",
      help: "Transfers (send-backup, receive-backup) running now.",
      registers,
      collect() {
        this.set(sources.transfersRunning());
      },
    });
    new Gauge({
      name: "marina_agent_self_fence_armed",
      help: "1 once a lease renewal of the cluster was seen (the self-fence would act if they stop); 0 before, or with selfFence disabled.",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of sources.selfFence()?.clusters ?? []) {
          this.set({ cluster: c.cluster }, c.armed ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "marina_agent_coordination_lost",
      help: "1 while no lease renewal of the cluster was seen for selfFence.afterMs.",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of sources.selfFence()?.clusters ?? []) {
          this.set({ cluster: c.cluster }, c.lost ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "marina_agent_self_fenced",
      help: "1 while the self-fence has fenced the local server (or found it read-only) in the current loss of coordination.",
      labelNames: ["cluster", "server"],
      registers,
      collect() {
        this.reset();
        for (const c of sources.selfFence()?.clusters ?? []) {
          for (const server of c.servers) {
            this.set({ cluster: c.cluster, server }, c.fenced.includes(server) ? 1 : 0);
          }
        }
      },
    });
  }

  /** A transfer ended; `data` is its final result (bytes, timings) when it succeeded. */
  transferEnded(
    action: string,
    method: string,
    result: "succeeded" | "failed" | "cancelled",
    seconds: number,
    data?: Record<string, unknown>,
  ): void {
    this.transfers.inc({ action, method, result });
    this.transferDuration.observe({ action }, seconds);
    const bytes = data?.bytes;
    if (typeof bytes !== "number") return;
    const direction = directionOf(action);
    this.transferBytes.inc({ direction }, bytes);
    const timings = data?.timings as Record<string, unknown> | undefined;
    const streamingMs = typeof timings?.streaming === "number" ? timings.streaming : undefined;
    if (streamingMs && streamingMs > 0) {
      this.transferRate.set({ direction }, Math.round((bytes * 1000) / streamingMs));
    }
  }

  /** A progress report of a running transfer. */
  progress(action: string, bytesPerSecond: number): void {
    this.transferRate.set({ direction: directionOf(action) }, bytesPerSecond);
  }
}
