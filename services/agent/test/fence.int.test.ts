// The agent's lease fence on a real nats-server and a real mariadbd: forged epochs (far
// above, lease+1, below) are refused — also on a request refused for another reason — and
// never learnt; the leader's next request acts; a new leader is admitted at once.
import type { AgentAction } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { deleteLease } from "@marina/lease-fence";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningAgent } from "../src/index.js";
import { DeciderClient, hostOf, newOpId, startAgents, waitFor } from "./helpers.js";

const MAX = Number.MAX_SAFE_INTEGER;

describe("agent lease fence", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 1, nats: true });
  let agents: Map<string, RunningAgent>;
  let client: DeciderClient;
  let db1: MariaNode;
  let host: string;

  beforeAll(async () => {
    const lab = getLab();
    db1 = lab.nodes[0] as MariaNode;
    host = hostOf(db1);
    client = await DeciderClient.connect(lab.nats!.url); // holds the lease of "main" at 1
    agents = await startAgents(lab);
  });
  afterAll(async () => {
    for (const a of agents?.values() ?? []) await a.stop();
    await client?.close();
    if (!db1.isRunning()) await db1.start();
  });

  const stop = (epoch: number, server = db1.name) =>
    client.request(host, { action: "stop-server", server }, { epoch });

  it("refuses forged epochs, nothing done, and then obeys the leader", async () => {
    // The defect: a refused request (unknown server) with a huge epoch locked the leader out.
    expect((await stop(MAX, "db9")).error?.code).toBe("UNKNOWN_SERVER");
    for (const [epoch, code] of [
      [MAX, "FUTURE_EPOCH"],
      [2, "FUTURE_EPOCH"],
      [0, "STALE_EPOCH"],
    ] as const) {
      const r = await stop(epoch);
      expect(r.error, `epoch ${epoch}`).toMatchObject({ code, path: "payload.epoch" });
      expect(r.data).toMatchObject({ currentEpoch: 1 });
    }
    expect(db1.isRunning()).toBe(true);
    // The leader's epoch acts.
    const stopped = await stop(1);
    expect(stopped.ok, JSON.stringify(stopped.error)).toBe(true);
    expect(db1.isRunning()).toBe(false);
    const started = await client.request(host, { action: "start-server", server: db1.name });
    expect(started.ok, JSON.stringify(started.error)).toBe(true);
    expect(db1.isRunning()).toBe(true);
  });

  it("admits a new leader's first request at once, then refuses the old epoch", async () => {
    // A cancel of a finished operation acts on nothing but is fenced like any action.
    const opId = newOpId("stop");
    expect(
      (await client.request(host, { action: "stop-server", server: db1.name }, { opId })).ok,
    ).toBe(true);
    await db1.start();
    const cancel: AgentAction = { action: "cancel", opId };
    await client.lead(2);
    expect((await client.request(host, cancel)).ok).toBe(true);
    await waitFor(
      async () => (await client.request(host, cancel, { epoch: 1 })).error?.code === "STALE_EPOCH",
      { timeoutMs: 10_000, message: "epoch 1 refused after the lease moved to 2" },
    );
  });

  it("refuses everything, retryably, while no decider holds the lease; status still answers", async () => {
    await deleteLease(client.nc, "main");
    // The agent's watch learns of the deletion a moment later (until then the lease it saw
    // is still current for it): wait for that, without sending anything that could act.
    await waitFor(
      async () => {
        const s = await client.request(host, { action: "status" });
        return (
          (s.data as { leaseEpochs?: Record<string, number | null> }).leaseEpochs?.main === null
        );
      },
      { timeoutMs: 10_000, message: "the agent saw the lease go" },
    );
    const r = await stop(client.epoch);
    expect(r.error).toMatchObject({ code: "LEASE_UNAVAILABLE", retryable: true });
    expect(db1.isRunning()).toBe(true);
    expect((await client.request(host, { action: "status" })).ok).toBe(true);
    await client.lead(3);
  });
});
