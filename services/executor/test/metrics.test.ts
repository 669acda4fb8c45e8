// The executor's metrics as the handler feeds them: steps by kind and result (refusals
// too), durations of the steps that ran, the lease fence's refusals, servers fenced.
import { LeaseFence, StaticLeaseSource } from "@marina/lease-fence";
import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, type HandlerDeps, handleExecRequest } from "../src/handler.js";
import { ExecutorMetrics } from "../src/metrics.js";
import { resolveClusters } from "../src/targets.js";
import { ScriptedSession, scriptedConnector } from "./fake-session.js";
import { CONFIG, ENV, execPayload, FakeClock, request, silentLog } from "./fixtures.js";

describe("ExecutorMetrics", () => {
  it("counts what the handler answered", async () => {
    const metrics = new ExecutorMetrics(() => 3);
    const clock = new FakeClock();
    const d: HandlerDeps = {
      id: "e-test",
      clusters: resolveClusters(CONFIG, ENV),
      fence: new LeaseFence(new StaticLeaseSource({ main: 1 }), () => clock.now()),
      connect: scriptedConnector(() => new ScriptedSession(() => [{ read_only: 0 }])),
      clock,
      log: silentLog,
      options: DEFAULT_OPTIONS,
      observe: (o) => metrics.record(o),
      ask: async () => [],
    };
    const step = { kind: "set-read-only", readOnly: true };
    await handleExecRequest(d, "main", request(execPayload({ step })));
    await handleExecRequest(d, "main", request(execPayload({ step, epoch: 0 })));
    await handleExecRequest(d, "main", "}{");
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'marina_executor_steps_total{cluster="main",step="set-read-only",result="ok"} 1',
    );
    expect(text).toContain(
      'marina_executor_steps_total{cluster="main",step="set-read-only",result="STALE_EPOCH"} 1',
    );
    expect(text).toContain(
      'marina_executor_steps_total{cluster="main",step="invalid",result="BAD_JSON"} 1',
    );
    expect(text).toContain('marina_executor_fence_refusals_total{cluster="main"} 1');
    expect(text).toContain(
      'marina_executor_step_duration_seconds_count{cluster="main",step="set-read-only"} 1',
    );
    expect(text).toContain("marina_executor_steps_running 3");
  });

  it("counts a successful fence step per server", () => {
    const metrics = new ExecutorMetrics();
    const ran = {
      stage: "ran",
      cluster: "main",
      server: "db1",
      step: "fence",
      seconds: 0.2,
    } as const;
    metrics.record({ ...ran, code: null });
    metrics.record({ ...ran, code: "SQL_ERROR" });
    return metrics.registry.metrics().then((text) => {
      expect(text).toContain('marina_executor_servers_fenced_total{cluster="main",server="db1"} 1');
      expect(text).toContain(
        'marina_executor_steps_total{cluster="main",step="fence",result="SQL_ERROR"} 1',
      );
    });
  });
});
