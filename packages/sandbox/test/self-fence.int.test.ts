// Self-fencing end to end (issue 13), on the multi-host lab with each agent in its host:
// - every NATS node down at once (Marina cannot fail over): the primary keeps its writes —
//   its agent sees no lease renewal, but every replica is still reachable from its host;
// - the primary's host cut off from everything past the semi-sync timeout, with a writer
//   beside it: its agent fences it (read_only=1, clients killed) within a few seconds, so
//   the commits waiting for an ack are never answered OK when the timeout would have made
//   the primary acknowledge alone — before the self-fence, that lost hundreds of writes.
import { findMissingIds, jsonLines, sleep } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { waitConverged } from "../src/trials/convergence.js";
import { startHostWriter, startLocalWriter } from "../src/trials/writers.js";

const agentLog = (stack: Stack, server: string) =>
  jsonLines(stack.spawned.get(`agent-${server}`)?.stdout ?? "");

describe("self-fencing", () => {
  let stack: Stack;
  let obs: Observer;
  let primary = "db1";

  beforeAll(async () => {
    stack = await startStack({
      lab: { nodes: 3, hosts: true, natsNodes: 3, semiSync: true, semiSyncMasterTimeoutMs: 8_000 },
      deciders: 1,
      executors: 1,
      agents: true,
      processes: { agents: true },
    });
    obs = observe(stack.nc, "main", (o) => {
      if (o.kind === "topology" && o.topology.primary) primary = o.topology.primary;
    });
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    // The agent reads the candidates from the last topology every 5 s.
    await sleep(6_000);
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("keeps the primary's writes while every NATS node is down", async () => {
    const { lab } = stack;
    const db1 = lab.node("db1");
    const writer = await startLocalWriter(db1, { name: "w", firstId: 1, intervalMs: 20 });
    await writer.waitForAcks(10, 20_000);
    const opsBefore = obs.operations().length;
    const nats = lab.natsCluster!.nodes;
    await Promise.all(nats.map((n) => n.kill9()));
    const downAt = performance.now();
    const readOnly: number[] = [];
    while (performance.now() - downAt < 6_000) {
      const [row] = (await db1.query("SELECT @@read_only AS ro")) as Array<{ ro: unknown }>;
      readOnly.push(Number(row?.ro));
      await sleep(250);
    }
    const acksDuring = writer.acks.filter((a) => a.at > downAt + 3_000).length;
    await Promise.all(nats.map((n) => n.start()));
    await writer.stop();
    expect(
      readOnly.every((r) => r === 0),
      JSON.stringify(readOnly),
    ).toBe(true);
    // Writes went on well past the self-fence's bound (1.5 s without a renewal).
    expect(acksDuring).toBeGreaterThan(20);
    const kept = agentLog(stack, "db1").filter(
      (l) => l.msg === "self-fence: coordination lost, writes kept",
    );
    expect(kept.length, stack.spawned.get("agent-db1")?.stdout.slice(-2_000)).toBeGreaterThan(0);
    expect(kept[0]!.reason).toMatch(/every candidate \(db2, db3\) is reachable/);
    // Marina comes back and has done nothing to the databases: no operation, db1 writable.
    await sleep(8_000);
    expect(obs.operations().slice(opsBefore)).toEqual([]);
    const [after] = (await db1.query("SELECT @@read_only AS ro")) as Array<{ ro: unknown }>;
    expect(Number(after?.ro)).toBe(0);
  });

  it("fences a primary cut off from everything, before its semi-sync timeout", async () => {
    const { lab } = stack;
    const db1 = lab.node("db1");
    const follow = await startLocalWriter(() => lab.node(primary), {
      name: "follow",
      firstId: 1_000_000,
      intervalMs: 10,
    });
    const beside = await startHostWriter(lab, db1, {
      name: "beside",
      firstId: 10_000_000,
      intervalMs: 10,
    });
    await Promise.all([follow.waitForAcks(20, 20_000), beside.waitForAcks(5, 20_000)]);
    const cut = await lab.network!.isolate("db1");
    const cutAt = performance.now();
    await sleep(11_000);
    const healAt = performance.now();
    await cut.heal();
    const settled = await waitConverged(stack, 40_000);
    const records = await Promise.all([follow.stop(), beside.stop()]);
    // With the semi-sync timeout at 8 s, db1 would have acknowledged the beside writer alone
    // from cutAt + 8 s; fenced by its agent, it answers nothing after a few seconds.
    const late = records[1].acks.filter((a) => a.at > cutAt + 5_000 && a.at < healAt);
    expect(late, JSON.stringify(late.slice(0, 5))).toEqual([]);
    const fenced = agentLog(stack, "db1").filter(
      (l) => l.msg === "self-fence: server fenced (read_only=1, client connections killed)",
    );
    expect(fenced.length, stack.spawned.get("agent-db1")?.stdout.slice(-3_000)).toBe(1);
    expect(fenced[0]!.reason).toMatch(/db2, db3 unreachable/);
    // And nothing any client was told is missing on the primary Marina converged on.
    expect(settled.winner).toBeDefined();
    const acked = records.flatMap((r) => r.acks.map((a) => a.id));
    expect(await findMissingIds(lab.node(settled.winner!), acked)).toEqual([]);
  });
});
