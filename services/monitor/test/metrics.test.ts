import { describe, expect, it } from "vitest";
import { MonitorMetrics } from "../src/metrics.js";

describe("MonitorMetrics", () => {
  it("renders counters, gauges and histograms in Prometheus text format", async () => {
    const m = new MonitorMetrics();
    const l = { cluster: "main", server: "db1" };
    m.probes.inc(l);
    m.probes.inc(l);
    m.probeFailures.inc({ ...l, kind: "refused" });
    m.up.set(l, 1);
    m.probeDuration.observe(l, 0.002);
    m.probeDuration.observe(l, 0.3);
    const text = await m.render();
    expect(text).toContain("# TYPE marina_monitor_probes_total counter");
    expect(text).toContain('marina_monitor_probes_total{cluster="main",server="db1"} 2');
    expect(text).toContain(
      'marina_monitor_probe_failures_total{cluster="main",server="db1",kind="refused"} 1',
    );
    expect(text).toContain('marina_monitor_server_up{cluster="main",server="db1"} 1');
    expect(text).toContain(
      'marina_monitor_probe_duration_seconds_bucket{le="0.001",cluster="main",server="db1"} 0',
    );
    expect(text).toContain(
      'marina_monitor_probe_duration_seconds_bucket{le="0.0025",cluster="main",server="db1"} 1',
    );
    expect(text).toContain(
      'marina_monitor_probe_duration_seconds_bucket{le="+Inf",cluster="main",server="db1"} 2',
    );
    expect(text).toContain(
      'marina_monitor_probe_duration_seconds_count{cluster="main",server="db1"} 2',
    );
    expect(text.endsWith("\n")).toBe(true);
  });

  it("escapes label values", async () => {
    const m = new MonitorMetrics();
    m.published.inc({ cluster: 'a"b\\c\nd', type: "health" });
    expect(await m.render()).toContain('cluster="a\\"b\\\\c\\nd"');
  });
});
