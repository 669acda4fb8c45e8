// Marina on a 3-node NATS cluster (lab natsNodes: 3; every service given every node's URL):
// its streams and buckets are R3; events published before a node is lost stay readable;
// losing NATS quorum never makes it act on the databases, and it resumes when the quorum is
// back; a failover completes when the NATS node its leading decider uses dies with the
// primary. (A node partitioned away during a switchover needs network namespaces: later.)
import { EVENTS_STREAM } from "@marina/contracts";
import type { NatsServer } from "@marina/lab";
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { readLease, recordExec, streamLeadOn, streamPlacement } from "./ha-helpers.js";
import {
  failoverOps,
  newPrimary,
  readOnly,
  replicating,
  status,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

/** Every message of `stream` up to `lastSeq`, read by a fresh (ordered) consumer. */
/**
 * Messages 1…lastSeq of a stream, read one by one from the stream itself (no consumer: a
 * consumer's creation would also wait for the meta leader, which is not what is tested).
 */
async function readStream(nc: NatsConnection, stream: string, lastSeq: number) {
  const jsm = await jetstreamManager(nc, { timeout: 5_000 });
  const out: Array<{ seq: number; subject: string; data: string }> = [];
  for (let seq = 1; seq <= lastSeq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch((err: unknown) => {
      // A message removed by the stream's limits is not a loss; anything else is an error.
      if (/no message found/i.test((err as Error).message)) return null;
      throw err;
    });
    if (m) out.push({ seq: m.seq, subject: m.subject, data: m.string() });
  }
  return out;
}

describe("Marina on a 3-node NATS cluster", () => {
  let stack: Stack;
  let obs: Observer;
  let nodes: readonly NatsServer[];

  /** The NATS node a connection is on now. */
  const nodeOf = (nc: NatsConnection) =>
    stack.lab.natsCluster!.node(nc.info?.server_name ?? "(none)");
  /** Every node running, JetStream answering through each, `streams` fully current. */
  const clusterWhole = async (streams: readonly string[]) => {
    await stack.lab.natsCluster!.waitForJetStream(30_000);
    await waitFor(
      async () => {
        for (const s of streams) {
          if ((await streamPlacement(stack.nc, s)).current.length !== 3) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: `${streams.join(", ")} current on every node` },
    );
  };

  beforeAll(async () => {
    // Semi-sync AFTER_SYNC: what the killed primary acknowledged, a replica has.
    stack = await startStack({ lab: { semiSync: true, nodes: 3, natsNodes: 3 } });
    nodes = stack.lab.natsCluster!.nodes;
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("gives every service every node and makes every stream and bucket R3", async () => {
    expect(stack.config.nats.servers).toEqual(nodes.map((n) => n.url));
    expect(stack.config.nats.replicas).toBe("auto");
    await waitPrimary(stack.nc, "db1");
    const jsm = await jetstreamManager(stack.nc);
    const replicas: Record<string, number> = {};
    for await (const s of jsm.streams.list()) replicas[s.config.name] = s.config.num_replicas;
    expect(replicas).toMatchObject({
      MARINA_EVENTS: 3,
      MARINA_HEALTH: 3,
      KV_marina_leader: 3,
      KV_marina_state: 3,
    });
    expect(Object.values(replicas).every((n) => n === 3)).toBe(true);
  });

  it("keeps the events published before a node is lost readable after it", async () => {
    const { nc } = stack;
    const jsm = await jetstreamManager(nc);
    const lastSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    expect(lastSeq).toBeGreaterThan(0); // the initial topology at least
    const before = await readStream(nc, EVENTS_STREAM, lastSeq);
    expect(before.map((m) => m.seq).at(-1)).toBe(lastSeq);
    expect(before.some((m) => m.subject === "marina.v1.main.topology")).toBe(true);

    // The node that leads the stream: its loss needs an election before the stream answers.
    const leader = stack.lab.natsCluster!.node((await streamPlacement(nc, EVENTS_STREAM)).leader!);
    await leader.kill9();
    const after = await waitFor(
      async () => {
        const msgs = await readStream(nc, EVENTS_STREAM, lastSeq);
        return msgs.length >= before.length ? msgs : undefined;
      },
      { timeoutMs: 30_000, message: `${EVENTS_STREAM} readable without ${leader.name}` },
    );
    expect(after.slice(0, before.length)).toEqual(before);

    await leader.start();
    await clusterWhole([EVENTS_STREAM, "KV_marina_leader", "KV_marina_state"]);
  });

  it("never acts on the databases without NATS quorum, and resumes when it is back", async () => {
    const { lab, nc } = stack;
    const db1 = lab.node("db1");
    await waitPrimary(nc, "db1");
    const epoch = Number((await status(nc)).epoch);
    const exec = recordExec(nc);
    const failoversBefore = failoverOps(obs).length;
    const writer = await startWriter(db1, { intervalMs: 20 });
    try {
      await writer.waitForAcks(20);
      // Keep the test's own node; kill the two others: a quorum of 2 is gone.
      const keep = nodeOf(nc);
      const lost = nodes.filter((n) => n !== keep);
      await Promise.all(lost.map((n) => n.kill9()));
      const lostAt = performance.now();

      // Several lease TTLs: the leader loses its lease and nothing may happen to any server.
      const ackedAtLoss = writer.acked.length;
      while (performance.now() - lostAt < 10_000) {
        expect(await readOnly(db1)).toBe(false);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(writer.acked.length).toBeGreaterThan(ackedAtLoss + 100);
      expect(writer.failed).toEqual([]);
      expect(exec.requests).toEqual([]);
      for (const r of ["db2", "db3"]) expect(await replicating(lab.node(r))).toBe(true);

      // Quorum back: the lease is taken again and the decider answers with db1 as primary.
      const restartAt = performance.now();
      await Promise.all(lost.map((n) => n.start()));
      await waitFor(
        async () => {
          const lease = await readLease(nc);
          const s = await status(nc);
          return lease !== undefined && s.primary === "db1" && Number(s.epoch) >= epoch;
        },
        { timeoutMs: 60_000, message: "the decider leading again with db1 as primary" },
      );
      const resumeMs = Math.round(performance.now() - restartAt);
      await clusterWhole([EVENTS_STREAM, "KV_marina_leader", "KV_marina_state"]);
      await writer.waitForAcks(writer.acked.length + 20);
      expect(writer.failed).toEqual([]);
      expect(failoverOps(obs).length).toBe(failoversBefore);
      expect(exec.requests).toEqual([]);
      expect(await readOnly(db1)).toBe(false);
      console.log(
        `NATS quorum lost ${Math.round(restartAt - lostAt)} ms; leading again ${resumeMs} ms after the restart`,
      );
    } finally {
      exec.close();
      await writer.stop();
    }
  });

  it("fails over when the leading decider's NATS node dies with the primary", async () => {
    const { lab, nc } = stack;
    await waitPrimary(nc, "db1");
    const decider = stack.deciders[0]!;
    const natsNode = nodeOf(decider.nc);
    // The worst case: that node also leads the lease and state buckets, whose streams need
    // a new leader (a raft election, seconds) before the decider can write its lease again.
    for (const s of ["KV_marina_leader", "KV_marina_state"])
      await streamLeadOn(nc, s, natsNode.name);
    await waitPrimary(nc, "db1");
    // A table of its own: the quorum test's writer used lab_writer's first ids already.
    const writer = await startWriter(topologyWriter(lab, obs, "db1"), {
      intervalMs: 5,
      table: "nats_failover_writer",
    });
    try {
      await writer.waitForAcks(50);
      expect(nodeOf(decider.nc)).toBe(natsNode);
      const moved = (async () => {
        for await (const st of decider.nc.status()) {
          if (st.type === "reconnect") return performance.now();
        }
        return Number.NaN;
      })();
      const killedAt = performance.now();
      await Promise.all([lab.node("db1").kill9(), natsNode.kill9()]);
      const promoted = await obs.waitFor(newPrimary("db1"), 60_000, "a new primary");
      const failoverMs = Math.round(promoted.at - killedAt);
      const movedMs = Math.round((await moved) - killedAt);
      expect(decider.nc.info?.server_name).not.toBe(natsNode.name);
      const primary = lab.node(promoted.topology.primary!);
      await writer.waitForAcks(writer.acked.length + 20, 20_000);
      expect(await findMissingIds(primary, writer.acked, writer.table)).toEqual([]);
      const done = await obs.waitFor(
        (o) =>
          o.kind === "operation" &&
          o.operation.kind === "failover" &&
          o.operation.state !== "running",
        30_000,
        "the failover's result",
      );
      expect(done.kind === "operation" && done.operation.state).toBe("succeeded");
      console.log(
        `failover with the decider's NATS node (leading its buckets) killed: decider moved to ` +
          `another node after ${movedMs} ms, new primary after ${failoverMs} ms`,
      );
      await natsNode.start();
    } finally {
      await writer.stop();
    }
  });
});
