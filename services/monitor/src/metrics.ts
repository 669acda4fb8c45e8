// Every metric the monitor exports (docs/metrics.md), in a registry of its own.
import {
  Counter,
  Gauge,
  Histogram,
  metricsRegistry,
  type Registry,
  type RegistryOptions,
} from "@marina/runtime";

const SERVER = ["cluster", "server"] as const;

export class MonitorMetrics {
  readonly registry: Registry;
  readonly probeDuration: Histogram<"cluster" | "server">;
  readonly probes: Counter<"cluster" | "server">;
  readonly probeFailures: Counter<"cluster" | "server" | "kind">;
  readonly published: Counter<"cluster" | "type">;
  readonly publishErrors: Counter<"cluster" | "type">;
  readonly up: Gauge<"cluster" | "server">;
  readonly consecutiveFailures: Gauge<"cluster" | "server">;
  readonly natsConnected: Gauge;

  /** `natsConnected` is read at every scrape. */
  constructor(natsConnected: () => boolean = () => false, o: RegistryOptions = {}) {
    this.registry = metricsRegistry(o);
    const registers = [this.registry];
    this.probeDuration = new Histogram({
      name: "marina_monitor_probe_duration_seconds",
      help: "Round trip of successful probes (one multi-statement query).",
      labelNames: SERVER,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.probes = new Counter({
      name: "marina_monitor_probes_total",
      help: "Health samples produced.",
      labelNames: SERVER,
      registers,
    });
    this.probeFailures = new Counter({
      name: "marina_monitor_probe_failures_total",
      help: "Probes that found the server unreachable, by error kind.",
      labelNames: [...SERVER, "kind"],
      registers,
    });
    this.published = new Counter({
      name: "marina_monitor_events_published_total",
      help: "Messages published on NATS, by message type.",
      labelNames: ["cluster", "type"],
      registers,
    });
    this.publishErrors = new Counter({
      name: "marina_monitor_publish_errors_total",
      help: "Messages that could not be published or failed validation.",
      labelNames: ["cluster", "type"],
      registers,
    });
    this.up = new Gauge({
      name: "marina_monitor_server_up",
      help: "1 when the last probe reached the server.",
      labelNames: SERVER,
      registers,
    });
    this.consecutiveFailures = new Gauge({
      name: "marina_monitor_consecutive_failures",
      help: "Failed probes in a row per server.",
      labelNames: SERVER,
      registers,
    });
    this.natsConnected = new Gauge({
      name: "marina_monitor_nats_connected",
      help: "1 while the NATS connection is up.",
      registers,
      collect() {
        this.set(natsConnected() ? 1 : 0);
      },
    });
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
