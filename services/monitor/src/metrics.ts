// Prometheus text exposition (format 0.0.4), written by hand: three metric kinds and a
// label escape are all the monitor needs, not worth a dependency.

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

interface Metric {
  render(): string[];
}

abstract class Family<V> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: V }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  protected entry(labels: Labels, init: () => V): { labels: Labels; value: V } {
    const k = keyOf(labels);
    let e = this.series.get(k);
    if (!e) {
      e = { labels: { ...labels }, value: init() };
      this.series.set(k, e);
    }
    return e;
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} ${this.type}`,
      ...this.lines(),
    ];
  }
  protected abstract lines(): string[];
}

export class Counter extends Family<number> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    const e = this.entry(labels, () => 0);
    e.value += by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }
  protected lines(): string[] {
    return [...this.series.values()].map(
      (e) => `${this.name}${labelText(e.labels)} ${formatNumber(e.value)}`,
    );
  }
}

export class Gauge extends Family<number> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }
  get(labels: Labels = {}): number | undefined {
    return this.series.get(keyOf(labels))?.value;
  }
  protected lines(): string[] {
    return [...this.series.values()].map(
      (e) => `${this.name}${labelText(e.labels)} ${formatNumber(e.value)}`,
    );
  }
}

interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramValue> {
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    const e = this.entry(labels, () => ({
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
    }));
    this.buckets.forEach((b, i) => {
      if (value <= b) e.value.counts[i]!++;
    });
    e.value.sum += value;
    e.value.count++;
  }
  protected lines(): string[] {
    const out: string[] = [];
    for (const e of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out.push(
          `${this.name}_bucket${labelText(e.labels, ["le", formatNumber(b)])} ${e.value.counts[i]}`,
        );
      });
      out.push(`${this.name}_bucket${labelText(e.labels, ["le", "+Inf"])} ${e.value.count}`);
      out.push(`${this.name}_sum${labelText(e.labels)} ${formatNumber(e.value.sum)}`);
      out.push(`${this.name}_count${labelText(e.labels)} ${e.value.count}`);
    }
    return out;
  }
}

/** Every metric the monitor exports. */
export class MonitorMetrics {
  readonly probeDuration = new Histogram(
    "marina_monitor_probe_duration_seconds",
    "Round trip of successful probes (one multi-statement query).",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly probes = new Counter("marina_monitor_probes_total", "Health samples produced.");
  readonly probeFailures = new Counter(
    "marina_monitor_probe_failures_total",
    "Probes that found the server unreachable, by error kind.",
  );
  readonly published = new Counter(
    "marina_monitor_events_published_total",
    "Messages published on NATS, by message type.",
  );
  readonly publishErrors = new Counter(
    "marina_monitor_publish_errors_total",
    "Messages that could not be published or failed validation.",
  );
  readonly up = new Gauge("marina_monitor_server_up", "1 when the last probe reached the server.");
  readonly consecutiveFailures = new Gauge(
    "marina_monitor_consecutive_failures",
    "Failed probes in a row per server.",
  );
  readonly natsConnected = new Gauge(
    "marina_monitor_nats_connected",
    "1 while the NATS connection is up.",
  );

  render(): string {
    const all: Metric[] = [
      this.probeDuration,
      this.probes,
      this.probeFailures,
      this.published,
      this.publishErrors,
      this.up,
      this.consecutiveFailures,
      this.natsConnected,
    ];
    return `${all.flatMap((m) => m.render()).join("\n")}\n`;
  }
}
