// docs/metrics.md, the Grafana dashboard and the Prometheus alert rules in deploy/ stay
// true to the metrics the services register: the doc lists exactly those (with their
// type), and every marina_* name the dashboard and the rules use is one of them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentMetrics } from "@marina/agent";
import { DeciderMetrics } from "@marina/decider";
import { ExecutorMetrics } from "@marina/executor";
import { MonitorMetrics } from "@marina/monitor";
import type { Registry } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const root = join(import.meta.dirname, "../../..");
const read = (f: string) => readFileSync(join(root, f), "utf8");

/** Name → type of every metric a registry holds. */
function metricsOf(registry: Registry): Map<string, string> {
  return new Map(
    registry.getMetricsAsArray().map((m) => {
      const { name, type } = m as unknown as { name: string; type: string };
      return [name, type];
    }),
  );
}

const registered = new Map<string, string>([
  ...metricsOf(new MonitorMetrics().registry),
  ...metricsOf(new DeciderMetrics(() => []).registry),
  ...metricsOf(new ExecutorMetrics().registry),
  ...metricsOf(
    new AgentMetrics({ transfersRunning: () => 0, selfFence: () => undefined }).registry,
  ),
]);

/** The series names an exposition has for each metric (histograms: _bucket, _sum, _count). */
const seriesNames = new Set(
  [...registered].flatMap(([name, type]) =>
    type === "histogram" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  ),
);

/** Every marina_* name a text mentions. */
const namesIn = (text: string) => new Set(text.match(/\bmarina_[a-z0-9_]+/g) ?? []);

describe("metrics documentation and deploy files", () => {
  it("every service registers its metrics under its own prefix", () => {
    expect(registered.size).toBeGreaterThan(25);
    for (const name of registered.keys()) {
      expect(name).toMatch(/^marina_(monitor|decider|executor|agent)_[a-z0-9_]+$/);
    }
  });

  it("docs/metrics.md lists exactly the registered metrics, with their types", () => {
    const rows = [...read("docs/metrics.md").matchAll(/^\| `(marina_[a-z0-9_]+)` \| (\w+) \|/gm)];
    const documented = new Map(rows.map((m) => [m[1]!, m[2]!]));
    expect(rows.length, "a metric documented twice").toBe(documented.size);
    expect([...documented.keys()].sort()).toEqual([...registered.keys()].sort());
    for (const [name, type] of documented) expect(type, name).toBe(registered.get(name));
  });

  it("the Grafana dashboard is dashboard JSON using only registered metrics", () => {
    const text = read("deploy/grafana/marina-dashboard.json");
    const dash = JSON.parse(text) as {
      title: string;
      uid: string;
      panels: Array<{ type: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dash.title).toBe("Marina");
    expect(dash.uid).toBeTruthy();
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const used = namesIn(text);
    expect([...used].filter((n) => !seriesNames.has(n))).toEqual([]);
    // Every service has a panel.
    for (const service of ["monitor", "decider", "executor", "agent"]) {
      expect(
        [...used].some((n) => n.startsWith(`marina_${service}_`)),
        service,
      ).toBe(true);
    }
  });

  it("the alert rules parse, name the alerts asked for, and use only registered metrics", () => {
    const text = read("deploy/prometheus/marina-alerts.yml");
    const doc = parseYaml(text) as {
      groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }>;
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Marina[A-Za-z]+$/);
      expect(typeof r.expr).toBe("string");
    }
    const alerts = rules.map((r) => r.alert);
    expect(new Set(alerts).size).toBe(alerts.length);
    for (const a of [
      "MarinaNoLeader",
      "MarinaFailoverHappened",
      "MarinaFailoverFailed",
      "MarinaPrimaryUnreachable",
      "MarinaSelfFenceFired",
      "MarinaPausedLong",
      "MarinaExecutorStepsFailing",
    ]) {
      expect(alerts).toContain(a);
    }
    const used = new Set(rules.flatMap((r) => [...namesIn(r.expr)]));
    expect([...used].filter((n) => !seriesNames.has(n))).toEqual([]);
  });
});
