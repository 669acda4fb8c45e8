// The agent's metrics: transfers counted as they end (bytes and rate from the final
// result), the rate while streaming, and the self-fence's state read at the scrape.
import { describe, expect, it } from "vitest";
import { AgentMetrics } from "../src/metrics.js";
import type { SelfFenceState } from "../src/self-fence/watcher.js";

describe("AgentMetrics", () => {
  it("counts transfers, bytes and rate, and reads the self-fence's state", async () => {
    let state: SelfFenceState | undefined = {
      clusters: [
        { cluster: "main", armed: true, lost: true, servers: ["db1", "db2"], fenced: ["db1"] },
      ],
    };
    const m = new AgentMetrics({ transfersRunning: () => 1, selfFence: () => state });
    m.progress("receive-backup", 1234);
    let text = await m.registry.metrics();
    expect(text).toContain(
      'marina_agent_transfer_rate_bytes_per_second{direction="received"} 1234',
    );
    m.transferEnded("send-backup", "physical", "succeeded", 4, {
      bytes: 8_000_000,
      timings: { streaming: 2000 },
    });
    m.transferEnded("receive-backup", "logical", "failed", 1);
    m.selfFences.inc({ cluster: "main", server: "db1" });
    text = await m.registry.metrics();
    expect(text).toContain(
      'marina_agent_transfers_total{action="send-backup",method="physical",result="succeeded"} 1',
    );
    expect(text).toContain(
      'marina_agent_transfers_total{action="receive-backup",method="logical",result="failed"} 1',
    );
    expect(text).toContain('marina_agent_transfer_bytes_total{direction="sent"} 8000000');
    expect(text).toContain('marina_agent_transfer_rate_bytes_per_second{direction="sent"} 4000000');
    expect(text).toContain("marina_agent_transfers_running 1");
    expect(text).toContain('marina_agent_self_fence_armed{cluster="main"} 1');
    expect(text).toContain('marina_agent_coordination_lost{cluster="main"} 1');
    expect(text).toContain('marina_agent_self_fenced{cluster="main",server="db1"} 1');
    expect(text).toContain('marina_agent_self_fenced{cluster="main",server="db2"} 0');
    expect(text).toContain('marina_agent_self_fences_total{cluster="main",server="db1"} 1');
    // Self-fence disabled: no series.
    state = undefined;
    text = await m.registry.metrics();
    expect(text).not.toContain("marina_agent_self_fence_armed{");
  });
});
