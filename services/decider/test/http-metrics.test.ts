// The decider's /metrics on its HTTP API (no token), over two deciders on the in-memory
// bus: leadership per decider, the leader's situations and pause, commands counted by the
// decider that answered them; and the operation counters and histograms as they are fed.
import { describe, expect, it } from "vitest";
import { DeciderMetrics } from "../src/metrics.js";
import { CI_TOKEN, twoDeciders, until } from "./http-fakes.js";

describe("decider /metrics", () => {
  it("serves leadership, situations, pause and commands without a token", async () => {
    const d = await twoDeciders();
    try {
      const scrape = async (api: typeof d.leaderApi) => {
        const r = await api.server.inject({ url: "/metrics" });
        expect(r.statusCode).toBe(200);
        expect(r.headers["content-type"]).toContain("text/plain");
        return r.body;
      };
      await until(async () =>
        (await scrape(d.leaderApi)).includes(
          'marina_decider_situation{cluster="main",situation="PrimaryHealthy"} 1',
        ),
      );
      const leader = await scrape(d.leaderApi);
      const follower = await scrape(d.followerApi);
      expect(leader).toContain('marina_decider_leader{cluster="main"} 1');
      expect(follower).toContain('marina_decider_leader{cluster="main"} 0');
      expect(leader).toContain('marina_decider_paused{cluster="main"} 0');
      expect(leader).toContain(
        'marina_decider_operation_running{cluster="main",kind="failover"} 0',
      );
      // Only the acting leader reports the cluster's state.
      expect(follower).not.toContain("marina_decider_situation{");
      expect(follower).not.toContain("marina_decider_paused{");

      const pause = await d.followerApi.server.inject({
        method: "POST",
        url: "/clusters/main/commands/pause",
        headers: { authorization: `Bearer ${CI_TOKEN}` },
        payload: { reason: "metrics test" },
      });
      expect(pause.statusCode).toBe(200);
      const paused = await scrape(d.leaderApi);
      expect(paused).toContain('marina_decider_paused{cluster="main"} 1');
      // Answered by the leader (the follower forwarded it).
      expect(paused).toContain(
        'marina_decider_commands_total{cluster="main",verb="pause",outcome="ok"} 1',
      );
      expect(await scrape(d.followerApi)).not.toContain('verb="pause"');
    } finally {
      await d.close();
    }
  });

  it("counts operations by kind and result and observes their durations", async () => {
    const m = new DeciderMetrics(() => []);
    const record = {
      cluster: "main",
      kind: "failover",
      outcome: "succeeded",
      durationMs: 1800,
    } as Parameters<DeciderMetrics["operationEnded"]>[0];
    m.operationEnded(record);
    m.operationEnded({ ...record, kind: "switchover", outcome: "refused", durationMs: 0 });
    m.command("main", "switchover", "NOT_LEADER");
    m.command("main", "no-such-verb", "VALIDATION_FAILED");
    const text = await m.registry.metrics();
    expect(text).toContain(
      'marina_decider_operations_total{cluster="main",kind="failover",result="succeeded"} 1',
    );
    expect(text).toContain(
      'marina_decider_operation_duration_seconds_bucket{le="2",cluster="main",kind="failover",result="succeeded"} 1',
    );
    expect(text).toContain(
      'marina_decider_operation_duration_seconds_bucket{le="1",cluster="main",kind="failover",result="succeeded"} 0',
    );
    // A refused command ran nothing: counted, not timed.
    expect(text).toContain(
      'marina_decider_operations_total{cluster="main",kind="switchover",result="refused"} 1',
    );
    expect(text).not.toContain('duration_seconds_count{cluster="main",kind="switchover"');
    expect(text).toContain(
      'marina_decider_commands_total{cluster="main",verb="switchover",outcome="NOT_LEADER"} 1',
    );
    expect(text).toContain(
      'marina_decider_commands_total{cluster="main",verb="unknown",outcome="VALIDATION_FAILED"} 1',
    );
  });
});
