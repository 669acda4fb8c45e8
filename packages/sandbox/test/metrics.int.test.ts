// Every service's /metrics over a real socket through a failover: a real lab (3 mariadbd,
// semi-sync), NATS, the monitor, two executors, two deciders and an agent per server, each
// serving /metrics on a loopback port of its own. kill -9 of the primary; while the
// failover runs every endpoint keeps answering, and afterwards the decider has counted the
// failover, the executors their steps, the monitor its failed probes, and the agents show
// their self-fence armed. No metric carries a secret.
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (what this test needs of the format). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `match`. */
function sum(samples: readonly Sample[], name: string, match: Record<string, string> = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function scrape(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, text: await r.text() };
}

describe("metrics of every service through a failover", () => {
  let stack: Stack;
  let obs: Observer;
  let urls: Map<string, string>;

  beforeAll(async () => {
    stack = await startStack({
      // Secured as in production: every service under its own NATS identity.
      lab: { semiSync: true, nodes: 3, natsAuth: "strict" },
      deciders: 2,
      executors: 2,
      agents: true,
      metricsHttp: true,
    });
    obs = observe(stack.nc, "main");
    urls = stack.metricsUrls();
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  /** Every service's samples, scraped now (each must answer 200). */
  async function scrapeAll(): Promise<Map<string, Sample[]>> {
    const all = new Map<string, Sample[]>();
    await Promise.all(
      [...urls].map(async ([id, url]) => {
        const r = await scrape(url);
        expect(r.status, `${id} ${url}`).toBe(200);
        all.set(id, parseExposition(r.text));
      }),
    );
    return all;
  }
  const of = (all: Map<string, Sample[]>, prefix: string) =>
    [...all].filter(([id]) => id.startsWith(prefix)).flatMap(([, s]) => s);

  it("serves /metrics and /healthz for every service on a port of its own", async () => {
    expect([...urls.keys()].sort()).toEqual([
      "agent-db1",
      "agent-db2",
      "agent-db3",
      "decider-1",
      "decider-2",
      "executor-1",
      "executor-2",
      "monitor-m1",
    ]);
    expect(new Set([...urls.values()].map((u) => new URL(u).port)).size).toBe(urls.size);
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1",
      20_000,
      "initial topology",
    );
    for (const [id, url] of urls) {
      const h = await fetch(url.replace(/\/metrics$/, "/healthz"));
      expect(h.status, `${id} /healthz`).toBe(200);
    }
    // One decider leads the cluster; the agents saw its lease renewed (self-fence armed).
    await waitFor(async () => {
      const all = await scrapeAll();
      return (
        sum(of(all, "decider-"), "marina_decider_leader", { cluster: "main" }) === 1 &&
        sum(of(all, "agent-"), "marina_agent_self_fence_armed", { cluster: "main" }) === 3
      );
    }, 20_000);
  });

  it("counts the failover after kill -9 of the primary, scraped while it runs", async () => {
    const before = await scrapeAll();
    expect(
      sum(of(before, "decider-"), "marina_decider_operations_total", { kind: "failover" }),
    ).toBe(0);

    // Scrape every service every 200 ms while the failover runs: every answer is a 200.
    let scraping = true;
    let rounds = 0;
    const during = (async () => {
      while (scraping) {
        await scrapeAll();
        rounds++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await stack.lab.node("db1").kill9();
      const done = await obs.waitFor(
        (o) =>
          o.kind === "operation" &&
          o.operation.kind === "failover" &&
          o.operation.state !== "running",
        60_000,
        "failover result",
      );
      expect(done.kind === "operation" && done.operation.state).toBe("succeeded");
    } finally {
      scraping = false;
      await during;
    }
    expect(rounds).toBeGreaterThan(0);

    // The leader counts the failover once its history record is made (right at the end).
    let after = await scrapeAll();
    await waitFor(async () => {
      after = await scrapeAll();
      return (
        sum(of(after, "decider-"), "marina_decider_operations_total", {
          cluster: "main",
          kind: "failover",
          result: "succeeded",
        }) === 1
      );
    }, 10_000);
    const deciders = of(after, "decider-");
    expect(
      sum(deciders, "marina_decider_operation_duration_seconds_count", {
        cluster: "main",
        kind: "failover",
        result: "succeeded",
      }),
    ).toBe(1);
    expect(
      sum(deciders, "marina_decider_situation_events_total", {
        cluster: "main",
        situation: "PrimaryDead",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(sum(deciders, "marina_decider_leader", { cluster: "main" })).toBe(1);
    expect(sum(deciders, "marina_decider_paused", { cluster: "main" })).toBe(0);

    // The executors ran the failover's steps (a queue group: split between the two).
    const executors = of(after, "executor-");
    expect(
      sum(executors, "marina_executor_steps_total", { cluster: "main", result: "ok" }),
    ).toBeGreaterThan(0);
    expect(
      sum(executors, "marina_executor_step_duration_seconds_count", { cluster: "main" }),
    ).toBeGreaterThan(0);

    // The monitor saw db1 go: failed probes, and down.
    const monitor = of(after, "monitor-");
    expect(
      sum(monitor, "marina_monitor_probe_failures_total", { cluster: "main", server: "db1" }),
    ).toBeGreaterThan(0);
    expect(sum(monitor, "marina_monitor_server_up", { cluster: "main", server: "db1" })).toBe(0);
    expect(sum(monitor, "marina_monitor_nats_connected")).toBe(1);

    // The agents: no transfer ran, and none fenced its server on its own (coordination
    // was never lost).
    const agents = of(after, "agent-");
    expect(agents.some((s) => s.name === "marina_agent_transfers_running")).toBe(true);
    expect(sum(agents, "marina_agent_transfers_running")).toBe(0);
    expect(sum(agents, "marina_agent_self_fences_total")).toBe(0);
    expect(sum(agents, "marina_agent_coordination_lost", { cluster: "main" })).toBe(0);
  });

  it("carries no secret", async () => {
    const c = stack.lab.credentials;
    const secrets = [c.marina.password, c.monitor.password, c.repl.password, c.backup.password]
      .concat(Object.values(stack.lab.natsUsers ?? {}).map((u) => u.password))
      .filter((p) => p.length >= 4);
    expect(secrets.length).toBeGreaterThan(0);
    for (const [id, url] of urls) {
      const { text } = await scrape(url);
      for (const s of secrets) expect(text.includes(s), `${id} shows a secret`).toBe(false);
    }
  });
});
