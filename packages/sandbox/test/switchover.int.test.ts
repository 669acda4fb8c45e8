// Planned switchover end to end on real servers: lab (3 nodes, semi-sync) + monitor +
// 2 executors + decider, with a non-SUPER writer that follows the published writer.
import type { HealthSample } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { findMissingIds, startWriter, type Writer, waitFor, waitForConvergence } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  followTopologyWriter,
  idsByWriterNode,
  operationResult,
  readOnlyOf,
  replicatesFrom,
  slaves,
  topologyWith,
  type WriterTarget,
  waitForHealth,
  waitForReplicaSamples,
} from "./ha-helpers.js";

describe("planned switchover", () => {
  let stack: Stack;
  let obs: Observer;
  let target: WriterTarget;
  let writer: Writer;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    target = followTopologyWriter(stack.lab, "db1");
    obs = observe(stack.nc, "main", (o) => target.onRecord(o));
    await topologyWith(obs, (t) => t.writer?.server === "db1", 20_000, "db1 as writer");
    writer = await startWriter(() => target.node(), { intervalMs: 5 });
    await writer.waitForAcks(50);
  });
  afterAll(async () => {
    await writer?.stop();
    obs?.close();
    await stack?.close();
  });

  /** Requests a switchover, waits for its result and checks the end state. */
  async function switchover(from: string, payload: Record<string, unknown>): Promise<MariaNode> {
    const { lab } = stack;
    const startId = Math.max(0, ...writer.acked);
    const reply = await command(stack.nc, "switchover", payload);
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    const opId = reply.ok ? reply.opId! : "";
    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message} ${JSON.stringify(done.error)}`).toBe("succeeded");
    expect(done.kind).toBe("switchover");
    const to = done.servers.target!;
    expect(done.servers.old).toBe(from);
    expect(to).not.toBe(from);
    const newPrimary = lab.node(to);
    const old = lab.node(from);
    const third = lab.nodes.find((n) => n.name !== from && n.name !== to)!;

    // the writer follows the published writer and its writes are acknowledged by the new one
    await topologyWith(obs, (t) => t.writer?.server === to, 10_000, `${to} as writer`);
    await waitFor(async () => ((await idsByWriterNode(newPrimary)).get(to)?.length ?? 0) >= 20, {
      timeoutMs: 20_000,
      message: `20 writes acknowledged by ${to}`,
    });

    // the old primary replicates from the new one, read-only; the third follows the new one
    await waitFor(() => replicatesFrom(old, newPrimary), {
      timeoutMs: 20_000,
      message: `${from} replicating from ${to}`,
      describe: async () => JSON.stringify(await slaves(old)),
    });
    expect(await readOnlyOf(old)).toBe(1);
    expect(await readOnlyOf(newPrimary)).toBe(0);
    expect(await slaves(newPrimary)).toEqual([]);
    await waitFor(() => replicatesFrom(third, newPrimary), {
      timeoutMs: 20_000,
      message: `${third.name} replicating from ${to}`,
      describe: async () => JSON.stringify(await slaves(third)),
    });

    // no acknowledged write lost, and no write landed on the old primary after the new one
    // took its first (a non-SUPER writer would have shown two writable primaries)
    const acked = [...writer.acked];
    expect(await findMissingIds(newPrimary, acked)).toEqual([]);
    const byNode = await idsByWriterNode(newPrimary);
    const lastOnOld = Math.max(...(byNode.get(from) ?? [0]));
    const firstOnNew = Math.min(...(byNode.get(to) ?? []).filter((id) => id > startId));
    expect(lastOnOld).toBeLessThan(firstOnNew);
    // the decider's knowledge catches up with the servers before the next command
    await waitForReplicaSamples(stack.nc, [from, third.name], {
      host: newPrimary.replicationHost,
      port: newPrimary.replicationPort,
    });
    return newPrimary;
  }

  it("db1 → db2: no acknowledged write lost, db1 replicates from db2 read-only, db3 follows", async () => {
    await switchover("db1", { target: "db2" });
  });

  it("back without a target: the best replica of db2 becomes primary, the others follow", async () => {
    const back = await switchover("db2", {});
    // every node ends with every acknowledged write
    const { lab } = stack;
    const others = lab.nodes.filter((n) => n.name !== back.name);
    for (const n of others) {
      await waitFor(async () => (await findMissingIds(n, writer.acked)).length === 0, {
        timeoutMs: 20_000,
        message: `${n.name} has every acknowledged write`,
      });
    }
  });

  it("refuses a target whose SQL thread is stopped, and changes nothing", async () => {
    const { lab } = stack;
    const primary = lab.node(target.name);
    const lagging = lab.nodes.find((n) => n.name !== primary.name)!;
    await lagging.query("STOP SLAVE SQL_THREAD");
    try {
      // let the decider see it (the monitor reports the stopped SQL thread)
      const stopped = (s: HealthSample) => s.observation?.replication[0]?.sqlThread === false;
      const first = await waitForHealth(stack.nc, lagging.name, stopped, 10_000);
      // a second such sample: the decider, which gets them in order, has the first one
      await waitForHealth(
        stack.nc,
        lagging.name,
        (s) => stopped(s) && s.probe > first.probe,
        10_000,
      );
      const reply = await command(stack.nc, "switchover", { target: lagging.name });
      expect(reply.ok).toBe(false);
      if (!reply.ok) {
        expect(reply.error.code).toBe("TARGET_NOT_ELIGIBLE");
        expect(reply.error.message).toMatch(/SQL thread/);
      }
      expect(await readOnlyOf(primary)).toBe(0);
      const before = writer.acked.length;
      await waitFor(() => writer.acked.length >= before + 10, 10_000);
    } finally {
      await lagging.query("START SLAVE SQL_THREAD");
    }
    await waitFor(() => replicatesFrom(lagging, primary), 20_000);
    // and the decider knows it runs again (the next test needs it eligible)
    const running = (s: HealthSample) => s.observation?.replication[0]?.sqlThread === true;
    const first = await waitForHealth(stack.nc, lagging.name, running, 10_000);
    await waitForHealth(stack.nc, lagging.name, (s) => running(s) && s.probe > first.probe, 10_000);
  });

  it("a target that cannot catch up in time: the switchover fails and undoes, the old primary takes writes again", async () => {
    const { lab } = stack;
    const primary = lab.node(target.name);
    const lagging = lab.nodes.find((n) => n.name !== primary.name)!;
    const third = lab.nodes.find((n) => n.name !== primary.name && n.name !== lagging.name)!;
    // Hold the writer's table on the target: its SQL thread runs but cannot apply, so it
    // stays eligible (running, lag under maxLagSeconds) yet cannot catch up.
    const lock = await lagging.connect({ socketTimeoutMs: 120_000 });
    lock.on("error", () => {});
    let locked = true;
    try {
      await lock.query("LOCK TABLES app.lab_writer WRITE");
      const before = writer.acked.length;
      await waitFor(() => writer.acked.length >= before + 20, 10_000);

      const reply = await command(stack.nc, "switchover", {
        target: lagging.name,
        timeoutMs: 1000,
      });
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
      const opId = reply.ok ? reply.opId! : "";
      const done = await operationResult(obs, opId, 60_000);
      expect(done.state, done.message).toBe("failed");
      expect(done.error).not.toBeNull();
      expect(done.error?.message.length).toBeGreaterThan(0);
      expect(done.message.length).toBeGreaterThan(0);
      // it went as far as waiting for the target, then undid
      const phases = obs
        .operations()
        .filter((e) => e.opId === opId)
        .map((e) => e.phase);
      expect(phases).toContain("catch-up");
      expect(phases).toContain("undo");

      // the old primary is writable again and the writer writes on it again
      await waitFor(async () => (await readOnlyOf(primary)) === 0, 10_000);
      await topologyWith(
        obs,
        (t) => t.writer?.server === primary.name && t.primary === primary.name,
        10_000,
        `${primary.name} as writer again`,
      );
      const afterFail = writer.acked.length;
      await waitFor(() => writer.acked.length >= afterFail + 20, {
        timeoutMs: 20_000,
        message: `writes acknowledged by ${primary.name} after the failed switchover`,
      });
      expect(target.name).toBe(primary.name);

      // nothing was repointed: both replicas still replicate from the old primary
      expect(await readOnlyOf(lagging)).toBe(1);
      expect((await slaves(lagging)).map((r) => r.Master_Port)).toEqual([primary.replicationPort]);
      expect(await replicatesFrom(third, primary)).toBe(true);

      await lock.query("UNLOCK TABLES");
      locked = false;
    } finally {
      if (locked) await lock.query("UNLOCK TABLES").catch(() => {});
      await lock.end().catch(() => {});
    }
    await writer.stop();
    await waitForConvergence([primary, lagging, third], { timeoutMs: 30_000 });
    for (const n of [primary, lagging, third]) {
      expect(await findMissingIds(n, writer.acked)).toEqual([]);
    }
    await waitFor(() => replicatesFrom(lagging, primary), 20_000);
  });
});
