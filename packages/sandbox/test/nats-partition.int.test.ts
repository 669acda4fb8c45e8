// Marina in hosts mode (every mariadbd and every nats-server on a host of its own, the
// services in the root namespace) on a 3-node NATS cluster, under network partitions:
// - a switchover completes when the NATS node its leading decider is connected to is
//   partitioned away right after the command is accepted — with that node leading the
//   lease and state buckets, the worst case — and never shows two writable servers;
//   the same switchover without a partition is timed in the same run for comparison;
// - the primary's host isolated from everything (monitor, replicas, clients): Marina fails
//   over (the replicas lose it too), and once healed the old primary is read-only and
//   rejoined or flagged, no write acknowledged by it after the failover.
import type { MariaNode, NatsServer, Partition } from "@marina/lab";
import { findMissingIds, sleep, startWriter, type Writer, waitFor } from "@marina/lab";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Decider, type Stack, startStack } from "../src/stack.js";
import {
  command,
  followTopologyWriter,
  idsByWriterNode,
  readLease,
  recordExec,
  topologyWith,
  type WriterTarget,
  waitForHealth,
} from "./ha-helpers.js";
import { isEvent, newPrimary, readOnly, slaves, type TopologySeen } from "./scenario-helpers.js";

const CLUSTER = "main";
const KV_STREAMS = ["KV_marina_leader", "KV_marina_state"] as const;

// ---------------------------------------------------------------------------------------
// Helpers

/** `@@read_only` over a fresh root socket connection (fences kill sessions); null: no answer. */
async function readOnlyNow(node: MariaNode): Promise<number | null> {
  try {
    const [r] = (await node.query("SELECT @@global.read_only AS ro", [], {
      timeoutMs: 2_000,
    })) as Array<{ ro: number }>;
    return Number(r?.ro);
  } catch {
    return null;
  }
}

interface RoSample {
  readonly at: number;
  readonly ro: Readonly<Record<string, number | null>>;
}

interface RoSampler {
  readonly samples: RoSample[];
  stop(): Promise<RoSample[]>;
}

/** `@@read_only` of every node, all at once, every `everyMs`, until stopped. */
function sampleReadOnly(nodes: readonly MariaNode[], everyMs = 50): RoSampler {
  const samples: RoSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      const values = await Promise.all(nodes.map((n) => readOnlyNow(n)));
      samples.push({ at, ro: Object.fromEntries(nodes.map((n, i) => [n.name, values[i]!])) });
      await sleep(Math.max(0, everyMs - (performance.now() - at)));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

const writableIn = (s: RoSample) =>
  Object.entries(s.ro)
    .filter(([, v]) => v === 0)
    .map(([k]) => k);

/** Every node reports the same port (3306) in hosts mode: compare hosts too. */
async function replicatesFromHost(replica: MariaNode, source: MariaNode): Promise<boolean> {
  const rows = await slaves(replica).catch(() => []);
  return (
    rows.length === 1 &&
    rows[0]!.Master_Host === source.host &&
    rows[0]!.Master_Port === source.port &&
    rows[0]!.Slave_IO_Running === "Yes" &&
    rows[0]!.Slave_SQL_Running === "Yes"
  );
}

/** Two health samples in a row of each replica replicating from `source` (host and port). */
async function waitForReplicaSamplesOf(
  nc: NatsConnection,
  replicas: readonly string[],
  source: MariaNode,
  timeoutMs = 20_000,
): Promise<void> {
  const ok = (s: Parameters<Parameters<typeof waitForHealth>[2]>[0]) => {
    const r = s.observation?.replication ?? [];
    return (
      r.length === 1 &&
      r[0]!.masterHost === source.host &&
      r[0]!.masterPort === source.port &&
      r[0]!.ioThread === "Yes" &&
      r[0]!.sqlThread
    );
  };
  await Promise.all(
    replicas.map(async (name) => {
      const first = await waitForHealth(nc, name, ok, timeoutMs);
      await waitForHealth(nc, name, (s) => ok(s) && s.probe > first.probe, timeoutMs);
    }),
  );
}

/** A stream's leader and the replicas that are current. */
async function placement(nc: NatsConnection, stream: string) {
  const info = await (await jetstreamManager(nc, { timeout: 2_000 })).streams.info(stream);
  const c = info.cluster;
  return {
    leader: c?.leader,
    current: [
      ...(c?.leader ? [c.leader] : []),
      ...(c?.replicas ?? []).filter((r) => r.current).map((r) => r.name),
    ],
  };
}

/** Moves `stream`'s leadership to node `name` (stepping the leader down until it lands). */
async function leadOn(nc: NatsConnection, stream: string, name: string): Promise<void> {
  await waitFor(
    async () => {
      const { leader } = await placement(nc, stream).catch(() => ({ leader: undefined }));
      if (leader === name) return true;
      if (leader !== undefined) {
        await nc
          .request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2_000 })
          .catch(() => {});
      }
      await sleep(500);
      return false;
    },
    { timeoutMs: 60_000, message: `${stream} led by ${name}` },
  );
}

interface LogRecord {
  readonly at: number;
  readonly [k: string]: unknown;
}

/**
 * The stack's log in memory: every line of the deciders (debug: lease attempts too) and
 * warnings of the others, with performance.now() of arrival.
 */
function memoryLog(): { log: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  const log = pino(
    { level: "debug" },
    {
      write(s: string) {
        try {
          const o = JSON.parse(s) as Record<string, unknown>;
          if (o.decider !== undefined || Number(o.level) >= 40) {
            lines.push({ ...o, at: performance.now() });
          }
        } catch {
          // not JSON
        }
      },
    },
  );
  return { log, lines };
}

const round = (ms: number) => Math.round(ms);

// ---------------------------------------------------------------------------------------

describe("hosts mode on a 3-node NATS cluster: partitions", () => {
  let stack: Stack;
  let obs: Observer;
  let target: WriterTarget;
  let writer: Writer;
  let logLines: LogRecord[];
  const durations: Record<string, number[]> = { plain: [], partitioned: [] };

  beforeAll(async () => {
    const mem = memoryLog();
    logLines = mem.lines;
    // Two deciders: the one on the partitioned NATS node may lose the lease to the other.
    stack = await startStack({
      lab: { hosts: true, semiSync: true, nodes: 3, natsNodes: 3 },
      deciders: 2,
      log: mem.log,
    });
    target = followTopologyWriter(stack.lab, "db1");
    obs = observe(stack.nc, CLUSTER, (o) => target.onRecord(o));
    await topologyWith(obs, (t) => t.writer?.server === "db1", 30_000, "db1 as writer");
    writer = await startWriter(() => target.node(), { intervalMs: 5 });
    await writer.waitForAcks(50);
  });
  afterAll(async () => {
    await writer?.stop();
    obs?.close();
    await stack?.lab.network?.heal().catch(() => {});
    await stack?.close();
    console.log(
      `switchover durations (ms): without a partition ${JSON.stringify(durations.plain)}, ` +
        `with the decider's NATS node partitioned ${JSON.stringify(durations.partitioned)}`,
    );
  });

  const leadingDecider = (): Decider | undefined =>
    stack.deciders.find((d) => d.app.leading().includes(CLUSTER));
  const natsNodeOf = (nc: NatsConnection): NatsServer =>
    stack.lab.natsCluster!.node(nc.info?.server_name ?? "(none)");

  /** Every NATS node answering, Marina's buckets and events current on all three. */
  async function natsWhole(nc: NatsConnection): Promise<void> {
    await stack.lab.natsCluster!.waitForJetStream(30_000);
    await waitFor(
      async () => {
        for (const s of [...KV_STREAMS, "MARINA_EVENTS"]) {
          const p = await placement(nc, s).catch(() => undefined);
          if (p?.current.length !== 3) return false;
        }
        return true;
      },
      { timeoutMs: 60_000, message: "Marina's streams current on every NATS node" },
    );
  }

  interface SwitchoverRun {
    readonly ms: number;
    readonly samples: readonly RoSample[];
  }

  /**
   * Switchover `from` → `to`, sent on `nc` and followed on `o`; `afterReply` runs as soon as
   * the command is accepted (the partition). Checks the end state and that no sample showed
   * two writable servers; returns the duration (command sent → result published).
   */
  async function switchover(
    nc: NatsConnection,
    o: Observer,
    from: string,
    to: string,
    afterReply?: () => Promise<void>,
  ): Promise<SwitchoverRun> {
    const { lab } = stack;
    const old = lab.node(from);
    const next = lab.node(to);
    const third = lab.nodes.find((n) => n.name !== from && n.name !== to)!;
    const startId = Math.max(0, ...writer.acked);
    const sampler = sampleReadOnly(lab.nodes);
    let ms: number;
    try {
      const sentAt = performance.now();
      const reply = await command(nc, "switchover", { target: to });
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
      const opId = reply.ok ? reply.opId! : "";
      await afterReply?.();
      const done = await o.waitFor(
        (x) =>
          x.kind === "operation" && x.operation.opId === opId && x.operation.state !== "running",
        120_000,
        `the result of switchover ${opId}`,
      );
      ms = done.at - sentAt;
      const result = done.kind === "operation" ? done.operation : undefined;
      expect(result?.state, `${result?.message} ${JSON.stringify(result?.error)}`).toBe(
        "succeeded",
      );
      expect(result?.servers.target).toBe(to);
      expect(result?.servers.old).toBe(from);

      // A topology published since the command names the new primary as primary and writer.
      await o.waitFor(
        (x) =>
          x.at >= sentAt &&
          x.kind === "topology" &&
          x.topology.primary === to &&
          x.topology.writer?.server === to,
        20_000,
        `a topology naming ${to}`,
      );
      // The writer (non-SUPER, following the topology) writes on the new primary.
      await waitFor(async () => ((await idsByWriterNode(next)).get(to)?.length ?? 0) >= 20, {
        timeoutMs: 30_000,
        message: `20 writes acknowledged by ${to}`,
      });
      expect(await readOnly(next)).toBe(false);
      await waitFor(() => replicatesFromHost(old, next), {
        timeoutMs: 30_000,
        message: `${from} replicating from ${to}`,
        describe: async () => JSON.stringify(await slaves(old).catch(String)),
      });
      expect(await readOnly(old)).toBe(true);
      expect(await slaves(next)).toEqual([]);
      await waitFor(() => replicatesFromHost(third, next), {
        timeoutMs: 30_000,
        message: `${third.name} replicating from ${to}`,
      });
    } finally {
      await sampler.stop();
    }
    // Never two writable servers at any sample.
    const samples = sampler.samples;
    expect(samples.filter((s) => writableIn(s).length > 1).map((s) => s.ro)).toEqual([]);
    expect(samples.length).toBeGreaterThan(10);
    // No acknowledged write lost; none on the old primary after the first on the new one.
    expect(await findMissingIds(next, [...writer.acked])).toEqual([]);
    const byNode = await idsByWriterNode(next);
    const lastOnOld = Math.max(...(byNode.get(from) ?? [0]));
    const firstOnNew = Math.min(...(byNode.get(to) ?? []).filter((id) => id > startId));
    expect(lastOnOld).toBeLessThan(firstOnNew);
    return { ms, samples };
  }

  it("a switchover without a partition (the reference)", async () => {
    const a = await switchover(stack.nc, obs, "db1", "db3");
    await waitForReplicaSamplesOf(stack.nc, ["db1", "db2"], stack.lab.node("db3"));
    const b = await switchover(stack.nc, obs, "db3", "db1");
    await waitForReplicaSamplesOf(stack.nc, ["db2", "db3"], stack.lab.node("db1"));
    durations.plain!.push(round(a.ms), round(b.ms));
    console.log(`switchover without a partition: ${round(a.ms)} ms, back: ${round(b.ms)} ms`);
  });

  it("completes a switchover when the leading decider's NATS node (leading its buckets) is partitioned away", async () => {
    const { lab } = stack;
    const net = lab.network!;
    const leader = await waitFor(() => leadingDecider(), {
      timeoutMs: 20_000,
      message: "a leading decider",
    });
    const natsNode = natsNodeOf(leader.nc);
    // The worst case: the node also leads the lease and state buckets, which must elect a
    // new leader on the other side before the decider can renew its lease.
    for (const s of KV_STREAMS) await leadOn(stack.nc, s, natsNode.name);
    expect(natsNodeOf(leader.nc)).toBe(natsNode);

    // The test's own view from the side that stays whole.
    const others = lab.natsCluster!.nodes.filter((n) => n !== natsNode);
    const watch = await connect({
      servers: others.map((n) => n.url),
      ignoreClusterUpdates: true,
      pingInterval: 500,
      maxPingOut: 2,
      maxReconnectAttempts: -1,
    });
    const o = observe(watch, CLUSTER, (x) => target.onRecord(x));
    const exec = recordExec(watch);
    const leaseBefore = await readLease(watch);
    const logFrom = logLines.length;
    const nodeStatus: Array<{ at: number; decider: string; type: string; server?: string }> = [];
    for (const d of stack.deciders) {
      void (async () => {
        for await (const st of d.nc.status()) {
          nodeStatus.push({
            at: performance.now(),
            decider: d.id,
            type: st.type,
            ...("server" in st ? { server: String(st.server) } : {}),
          });
        }
      })().catch(() => {});
    }
    let partition: Partition | undefined;
    let partitionedAt = 0;
    try {
      const run = await switchover(watch, o, "db1", "db2", async () => {
        partition = await net.isolate(natsNode.name);
        partitionedAt = performance.now();
      });
      durations.partitioned!.push(round(run.ms));

      // What happened on the way, for the report.
      const leaseAfter = await readLease(watch);
      const leadership = logLines
        .slice(logFrom)
        .filter((l) => l.msg === "became leader" || l.msg === "not leader")
        .map((l) => `${round(l.at - partitionedAt)}ms ${l.decider} ${l.msg} epoch ${l.epoch}`);
      const leaseFailures = logLines
        .slice(logFrom)
        .filter((l) => l.msg === "lease attempt failed").length;
      const stepRetries = new Map<string, number>();
      for (const r of exec.requests) {
        stepRetries.set(r.request.stepId, (stepRetries.get(r.request.stepId) ?? 0) + 1);
      }
      const moved = nodeStatus
        .filter((s) => s.type === "reconnect" || s.type === "disconnect")
        .map((s) => `${round(s.at - partitionedAt)}ms ${s.decider} ${s.type} ${s.server ?? ""}`);
      console.log(
        `switchover db1 -> db2 with ${natsNode.name} (leader ${leader.id}'s node, leading ` +
          `${KV_STREAMS.join(", ")}) isolated at the reply: ${round(run.ms)} ms ` +
          `(without a partition: ${JSON.stringify(durations.plain)}); lease ` +
          `${JSON.stringify(leaseBefore)} -> ${JSON.stringify(leaseAfter)}; leadership ` +
          `${JSON.stringify(leadership)}; failed lease attempts ${leaseFailures}; exec ` +
          `requests seen from the whole side ${exec.requests.length} for ${stepRetries.size} ` +
          `steps; NATS ${JSON.stringify(moved)}`,
      );
      for (const d of stack.deciders) {
        if (d.nc.info?.server_name) expect(d.nc.info.server_name).not.toBe(natsNode.name);
      }
    } finally {
      exec.close();
      await partition?.heal();
      o.close();
      await watch.close().catch(() => {});
    }
    await natsWhole(stack.nc);
    await waitForReplicaSamplesOf(stack.nc, ["db1", "db3"], lab.node("db2"));
    // Back to db1, healed: the reference again (and the start of the failover test).
    const back = await switchover(stack.nc, obs, "db2", "db1");
    durations.plain!.push(round(back.ms));
    await waitForReplicaSamplesOf(stack.nc, ["db2", "db3"], lab.node("db1"));
  });

  it("fails over when the primary's host is isolated; once healed it is read-only, rejoined or flagged", async () => {
    const { lab } = stack;
    const net = lab.network!;
    const db1 = lab.node("db1");
    expect(target.name).toBe("db1");
    // A client that keeps writing to db1 itself (not following the topology), as `app`:
    // nothing it writes there after the failover may be acknowledged.
    const staleAcks: Array<{ id: number; at: number }> = [];
    const stale = await startWriter(db1, {
      intervalMs: 20,
      table: "stale_writer",
      firstId: 1,
      onAck: (id, at) => staleAcks.push({ id, at }),
    });
    const acksBefore = writer.acked.length;
    await stale.waitForAcks(20);
    await writer.waitForAcks(acksBefore + 20);
    const sampler = sampleReadOnly(lab.nodes);
    let partition: Partition | undefined;
    try {
      partition = await net.isolate("db1");
      const isolatedAt = performance.now();
      const isNew = newPrimary("db1");
      const promoted = await obs.waitFor(
        (x): x is TopologySeen => x.at >= isolatedAt && isNew(x),
        60_000,
        "a new primary",
      );
      const newName = promoted.topology.primary!;
      const next = lab.node(newName);
      const failoverMs = round(promoted.at - isolatedAt);
      const done = await obs.waitFor(
        (o) =>
          o.at >= isolatedAt &&
          o.kind === "operation" &&
          o.operation.kind === "failover" &&
          o.operation.state !== "running",
        60_000,
        "the failover's result",
      );
      expect(done.kind === "operation" && done.operation.state).toBe("succeeded");
      // The first write the new primary acknowledged (the writer follows the topology).
      const firstNewAt = await waitFor(
        async () => {
          const ids = (await idsByWriterNode(next)).get(newName) ?? [];
          return ids.length >= 5 ? performance.now() : undefined;
        },
        { timeoutMs: 30_000, message: `writes acknowledged by ${newName}` },
      );
      expect(await readOnly(next)).toBe(false);

      await partition.heal();
      const healedAt = performance.now();
      // db1 comes back read-only (fenced) …
      await waitFor(async () => (await readOnlyNow(db1)) === 1, {
        timeoutMs: 20_000,
        intervalMs: 20,
        message: "db1 read-only after the heal",
      });
      const fencedMs = round(performance.now() - healedAt);
      // … and is rejoined under the new primary, or flagged (diverged), never a primary.
      const outcome = await waitFor(
        async () => {
          if (await replicatesFromHost(db1, next)) return "rejoined";
          const diverged = isEvent("OldPrimaryDiverged", "db1");
          const flagged = obs.seen.some((x) => x.at >= isolatedAt && diverged(x));
          return flagged ? "flagged diverged" : undefined;
        },
        { timeoutMs: 60_000, message: "db1 rejoined or flagged" },
      );
      await sleep(1_000);
      const samples = await sampler.stop();
      expect(await readOnly(db1)).toBe(true);
      // A non-SUPER write on db1 is refused.
      const app = await db1.connect({
        user: "app",
        connectTimeoutMs: 2_000,
        socketTimeoutMs: 5_000,
      });
      try {
        await expect(
          app.query("INSERT INTO app.stale_writer (id, node) VALUES (?, ?)", [1_000_000, "db1"]),
        ).rejects.toThrow(/read-only|read_only/i);
      } finally {
        await app.end().catch(() => {});
      }
      await stale.stop();

      // No write acknowledged by db1 once the new primary took writes.
      const lateOnDb1 = staleAcks.filter((a) => a.at >= promoted.at);
      // The topology never named two primaries.
      expect(
        obs.topologies().filter((t) => t.servers.filter((s) => s.role === "primary").length > 1),
      ).toEqual([]);
      // db1's read_only as root over its socket: writable while isolated (nothing can reach
      // it to fence it), then fenced after the heal. After the fence, never two writable.
      const lastDb1Writable = samples.filter((s) => s.ro.db1 === 0).at(-1)?.at ?? isolatedAt;
      const twoAfterFence = samples.filter(
        (s) => s.at > lastDb1Writable && writableIn(s).length > 1,
      );
      const twoWhileReachable = samples.filter((s) => s.at >= healedAt && writableIn(s).length > 1);
      console.log(
        `failover with db1's host isolated: new primary ${newName} published ${failoverMs} ms ` +
          `after the isolation, its first writes acknowledged by ${round(firstNewAt - isolatedAt)} ms; ` +
          `healed ${round(healedAt - isolatedAt)} ms after it; db1 read-only ${fencedMs} ms ` +
          `after the heal (samples with db1 and ${newName} both writable after the heal: ` +
          `${twoWhileReachable.length}), ${outcome}; stale writer on db1: ` +
          `${staleAcks.length} acked, ${lateOnDb1.length} after the promotion, ` +
          `${stale.failed.length} failed`,
      );
      expect(lateOnDb1).toEqual([]);
      expect(twoAfterFence.map((s) => s.ro)).toEqual([]);
      // Every write the topology-following writer got acknowledged is on the new primary
      // (semi-sync AFTER_SYNC: what db1 acknowledged before the isolation reached a replica).
      expect(await findMissingIds(next, [...writer.acked])).toEqual([]);
    } finally {
      await sampler.stop();
      await stale.stop();
      await partition?.heal();
    }
  });
});
