// Anti-flapping: after one automatic failover, a second primary death within the cooldown is
// NOT failed over (FailoverBlocked, reason cooldown) until an operator resets the limits
// with the command a person would type; then the failover proceeds.
import { startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  failoverOps,
  isEvent,
  isOperation,
  newPrimary,
  status,
  topologiesWithTwoPrimaries,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("the failover cooldown", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    // Default failover settings: cooldownMs 60 s.
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("blocks a second automatic failover until reset-failover-limits", async () => {
    const { lab, nc, config } = stack;
    expect(config.clusters[0]!.failover.cooldownMs).toBeGreaterThanOrEqual(60_000);
    await waitPrimary(nc, "db1");
    const writer = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    try {
      await writer.waitForAcks(30);

      await lab.node("db1").kill9();
      const first = await obs.waitFor(newPrimary("db1"), 30_000, "first failover");
      const second = first.topology.primary!;
      await obs.waitFor(
        isOperation((o) => o.kind === "failover" && o.state === "succeeded"),
        30_000,
        "first failover succeeded",
      );
      const acked = writer.acked.length;
      await writer.waitForAcks(acked + 20, 20_000);

      await lab.node(second).kill9();
      const blocked = await obs.waitFor(
        isEvent("FailoverBlocked", second),
        30_000,
        `FailoverBlocked for ${second}`,
      );
      expect(blocked.event.reason).toMatch(/cooldown/);
      expect(blocked.event.actionable).toBe(false);
      // No second promotion: one failover so far, the dead server is still the primary.
      const st = await status(nc);
      expect(st.primary).toBe(second);
      expect(st.operation).toBeNull();
      expect(failoverOps(obs)).toHaveLength(1);
      expect(obs.topologies().at(-1)?.writer).toBeNull();

      const reset = await command(nc, "reset-failover-limits", "{}");
      expect(reset.ok).toBe(true);
      const third = await obs.waitFor(newPrimary("db1", second), 30_000, "second failover");
      // the one server left (the first failover may have chosen either replica)
      expect(third.topology.primary).toBe(["db2", "db3"].find((n) => n !== second));
      expect(failoverOps(obs)).toHaveLength(2);
      const done = await obs.waitFor(
        isOperation(
          (o) => o.kind === "failover" && o.state !== "running" && o.servers.failed === second,
        ),
        30_000,
        "second failover result",
      );
      expect(done.operation.state).toBe("succeeded");
      // The writer follows and writes on the third primary.
      const before = writer.acked.length;
      await waitFor(() => writer.acked.length >= before + 20, 20_000);
      expect(topologiesWithTwoPrimaries(obs)).toEqual([]);
    } finally {
      await writer.stop();
    }
  });
});
