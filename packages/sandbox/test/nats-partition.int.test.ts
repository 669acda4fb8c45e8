// Marina in hosts mode (every mariadbd and every nats-server on a host of its own, the
// services in the root namespace) on a 3-node NATS cluster, under network partitions:
// - a switchover completes when the NATS node its leading decider is connected to is
//   partitioned away right after the command is accepted — with that node leading the
//   lease and state buckets, the worst case — and never shows two writable servers; the
//   same switchover without a partition is timed in the same run for comparison. The NATS
//   hosts run with tcp_retries2=3, the lab's default and Marina's recommendation (a route to
//   a partitioned nats-server 2.9 is only dropped when TCP gives up: see the lab's
//   `natsTcpRetries2` and docs/operations.md, "Running on a NATS cluster"). With the
//   kernel's 15 the switchover also completed (10.5 s, 14.9 s), but the healed node's
//   JetStream once stayed unavailable for more than 30 s afterwards;
// - the primary's host isolated from everything (monitor, replicas, clients): Marina fails
//   over (the replicas lose it too), and once healed — at once, or after the isolation
//   outlasted rpl_semi_sync_master_timeout — the old primary is read-only and rejoined or
//   flagged. A client that kept writing to it had nothing acknowledged after the failover
//   while semi-sync held; past the timeout (async fallback) it can have writes acknowledged
//   between the heal and the fence — counted and printed, the open hazard that strict
//   durability and self-fencing (issue 13) close — and none after the fence.
// MARINA_TEST_LOG=<file> writes the deciders' log (debug) and the others' (info) there.
import { writeFileSync } from "node:fs";
import type { MariaNode, NatsServer, Partition } from "@marina/lab";
import { findMissingIds, sleep, startWriter, type Writer, waitFor } from "@marina/lab";
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
  streamLeadOn,
  streamPlacement,
  topologyWith,
  type WriterTarget,
  waitForReplicaSamples,
} from "./ha-helpers.js";
import {
  isEvent,
  newPrimary,
  readOnly,
  slaves,
  status,
  type TopologySeen,
} from "./scenario-helpers.js";

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

interface LogRecord {
  readonly at: number;
  readonly [k: string]: unknown;
}

/**
 * The stack's log in memory: every line of the deciders (debug: lease attempts too) and
 * the others' info and above, with performance.now() of arrival.
 */
function memoryLog(): { log: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  const log = pino(
    { level: "debug" },
    {
      write(s: string) {
        try {
          const o = JSON.parse(s) as Record<string, unknown>;
          if (o.decider !== undefined || Number(o.level) >= 30) {
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

interface NatsView {
  readonly at: number;
  /** Per reachable node: the clients connected to it (names). */
  readonly clients: Record<string, string[]>;
  /** Per reachable node: the servers it has a route to (names). */
  readonly routes: Record<string, string[]>;
}

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return (await r.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** server_id → server_name of every node (read while all answer). */
async function serverIds(nodes: readonly NatsServer[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of nodes) {
    const v = await getJson(`${n.monitorUrl}/varz`);
    if (v) out.set(String(v.server_id), n.name);
  }
  return out;
}

/** Which clients each node serves and which routes it keeps (its monitoring endpoints). */
async function natsView(
  nodes: readonly NatsServer[],
  ids: ReadonlyMap<string, string>,
): Promise<NatsView> {
  const at = performance.now();
  const clients: Record<string, string[]> = {};
  const routes: Record<string, string[]> = {};
  await Promise.all(
    nodes.map(async (n) => {
      const c = await getJson(`${n.monitorUrl}/connz?limit=1000`);
      const r = await getJson(`${n.monitorUrl}/routez`);
      if (c) {
        clients[n.name] = ((c.connections as Array<{ name?: string }>) ?? [])
          .map((x) => x.name ?? "?")
          .sort();
      }
      if (r) {
        routes[n.name] = ((r.routes as Array<{ remote_id: string; last_activity?: string }>) ?? [])
          .map((x) => `${ids.get(x.remote_id) ?? x.remote_id}`)
          .sort();
      }
    }),
  );
  return { at, clients, routes };
}

// ---------------------------------------------------------------------------------------

/** Semi-sync's own give-up time (the server default): a longer isolation outlives it. */
/** A lab node as the source a replica names: its address and port. */
const hostPort = (n: MariaNode) => ({ host: n.host, port: n.port });

const SEMI_SYNC_TIMEOUT_MS = 10_000;

interface SuiteOptions {
  /** `natsTcpRetries2` of the lab (kernel default when absent). */
  readonly tcpRetries2?: number;
  /** Also run the failovers (they partition a database host, not NATS). */
  readonly failovers: boolean;
}

const suites: Array<[string, SuiteOptions]> = [
  ["tcp_retries2=3 on the NATS hosts", { tcpRetries2: 3, failovers: true }],
];

describe.each(suites)("hosts mode, 3-node NATS cluster, %s: partitions", (label, so) => {
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
      lab: {
        hosts: true,
        semiSync: true,
        nodes: 3,
        natsNodes: 3,
        ...(so.tcpRetries2 !== undefined ? { natsTcpRetries2: so.tcpRetries2 } : {}),
      },
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
    // MARINA_TEST_LOG=<file>: the deciders' log lines (debug) and the others' info, as JSON.
    const dump = process.env.MARINA_TEST_LOG;
    if (dump && logLines) {
      const file = so.tcpRetries2 === undefined ? dump : `${dump}.retries${so.tcpRetries2}`;
      writeFileSync(file, `${logLines.map((l) => JSON.stringify(l)).join("\n")}\n`);
    }
    await writer?.stop();
    obs?.close();
    await stack?.lab.network?.heal().catch(() => {});
    await stack?.close();
    console.log(
      `[${label}] switchover durations (ms): without a partition ${JSON.stringify(durations.plain)}, ` +
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
          const p = await streamPlacement(nc, s).catch(() => undefined);
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
    expect(samples.length).toBeGreaterThan(1);
    // No acknowledged write lost; none on the old primary after the first on the new one.
    expect(await findMissingIds(next, [...writer.acked])).toEqual([]);
    const byNode = await idsByWriterNode(next);
    const lastOnOld = Math.max(...(byNode.get(from) ?? [0]));
    const firstOnNew = Math.min(...(byNode.get(to) ?? []).filter((id) => id > startId));
    expect(lastOnOld).toBeLessThan(firstOnNew);
    return { ms, samples };
  }

  /** Heals every cut, waits for a whole NATS cluster and the decider reporting a primary. */
  async function settle(): Promise<string> {
    await stack.lab.network!.heal();
    await natsWhole(stack.nc);
    return waitFor(
      async () => {
        const s = await status(stack.nc).catch(() => undefined);
        const p = s?.primary;
        return typeof p === "string" && p === target.name ? p : undefined;
      },
      { timeoutMs: 30_000, message: "a primary reported and followed by the writer" },
    );
  }

  it("a switchover without a partition (the reference)", async () => {
    const a = await switchover(stack.nc, obs, "db1", "db3");
    await waitForReplicaSamples(stack.nc, ["db1", "db2"], hostPort(stack.lab.node("db3")));
    const b = await switchover(stack.nc, obs, "db3", "db1");
    await waitForReplicaSamples(stack.nc, ["db2", "db3"], hostPort(stack.lab.node("db1")));
    durations.plain!.push(round(a.ms), round(b.ms));
    console.log(
      `[${label}] switchover without a partition: ${round(a.ms)} ms, back: ${round(b.ms)} ms`,
    );
  });

  it("completes a switchover when the leading decider's NATS node (leading its buckets) is partitioned away", async () => {
    const { lab } = stack;
    const net = lab.network!;
    const from = await settle();
    const to = lab.nodes.find((n) => n.name !== from)!.name;
    const leader = await waitFor(() => leadingDecider(), {
      timeoutMs: 20_000,
      message: "a leading decider",
    });
    const natsNode = natsNodeOf(leader.nc);
    // The worst case: the node also leads the lease and state buckets, which must elect a
    // new leader on the other side before the decider can renew its lease.
    for (const s of KV_STREAMS) await streamLeadOn(stack.nc, s, natsNode.name);
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
    const allNats = lab.natsCluster!.nodes;
    const ids = await serverIds(allNats);
    const views: NatsView[] = [await natsView(allNats, ids)];
    let viewing = true;
    const viewer = (async () => {
      while (viewing) {
        await sleep(1_000);
        views.push(await natsView(others, ids));
      }
    })();
    let partition: Partition | undefined;
    let partitionedAt = 0;
    /** What the whole side saw, and what the deciders did, since the partition. */
    const report = () => {
      const since = (at: number) => `${round(at - partitionedAt)}ms`;
      const lines = logLines.slice(logFrom);
      const leadership = lines
        .filter((l) => l.msg === "became leader" || l.msg === "not leader")
        .map((l) => `${since(l.at)} ${l.decider} ${l.msg} epoch ${l.epoch}`);
      const lost = lines
        .filter((l) => l.msg === "step failed")
        .map((l) => {
          const e = l.error as { code?: string } | undefined;
          return `${since(l.at)} ${String(l.stepId).split("-").at(-1)} ${e?.code ?? "?"}`;
        });
      const kvTimeouts = lines.filter(
        (l) =>
          l.decider !== undefined &&
          (l.msg === "lease attempt failed" ||
            l.msg === "cannot announce or read deciders' presence" ||
            l.msg === "could not persist decider state; actions withheld" ||
            l.msg === "could not load decider state; starting from knowledge"),
      ).length;
      const moved = nodeStatus
        .filter((s) => s.type === "reconnect" || s.type === "disconnect")
        .map((s) => `${since(s.at)} ${s.decider} ${s.type} ${s.server ?? ""}`);
      const routesToIsolated = views
        .filter((v) => v.at > partitionedAt)
        .map((v) => {
          const keeping = Object.entries(v.routes)
            .filter(([, rs]) => rs.includes(natsNode.name))
            .map(([n]) => n);
          return `${since(v.at)} [${keeping.join(",")}]`;
        });
      return (
        `leadership ${JSON.stringify(leadership)}; steps failed ${JSON.stringify(lost)}; ` +
        `exec requests seen from the whole side ${exec.requests.length} for ` +
        `${new Set(exec.requests.map((r) => r.request.stepId)).size} steps; failed KV ` +
        `operations logged by the deciders ${kvTimeouts}; deciders' NATS ${JSON.stringify(moved)}; ` +
        `nodes still routing to ${natsNode.name} ${JSON.stringify(routesToIsolated)}; ` +
        `clients before: ${JSON.stringify(views[0]?.clients)}`
      );
    };
    try {
      const run = await switchover(watch, o, from, to, async () => {
        partition = await net.isolate(natsNode.name);
        partitionedAt = performance.now();
      }).catch(async (err: unknown) => {
        viewing = false;
        await viewer;
        console.log(`[${label}] the partitioned switchover failed: ${report()}`);
        throw err;
      });
      durations.partitioned!.push(round(run.ms));
      viewing = false;
      await viewer;
      console.log(
        `[${label}] switchover ${from} -> ${to} with ${natsNode.name} (leader ` +
          `${leader.id}'s node, leading ${KV_STREAMS.join(", ")}) isolated at the reply: ` +
          `${round(run.ms)} ms (without a partition: ${JSON.stringify(durations.plain)}); ` +
          `lease ${JSON.stringify(leaseBefore)} -> ${JSON.stringify(await readLease(watch))}; ` +
          report(),
      );
      for (const d of stack.deciders) {
        if (d.nc.info?.server_name) expect(d.nc.info.server_name).not.toBe(natsNode.name);
      }
    } finally {
      viewing = false;
      await viewer;
      exec.close();
      await partition?.heal();
      o.close();
      await watch.close().catch(() => {});
    }
    // Healed: back to db1 (the reference again).
    const primary = await settle();
    if (primary !== "db1") {
      await waitForReplicaSamples(
        stack.nc,
        lab.nodes.filter((n) => n.name !== primary).map((n) => n.name),
        hostPort(lab.node(primary)),
      );
      const back = await switchover(stack.nc, obs, primary, "db1");
      durations.plain!.push(round(back.ms));
    }
  });

  /**
   * The primary's host isolated from everything for at least `holdMs`: Marina fails over;
   * once healed the old primary is read-only, rejoined or flagged, and a client that kept
   * writing to it (as `app`) got no write acknowledged after the new primary took writes.
   */
  async function isolatePrimary(holdMs: number): Promise<void> {
    const { lab } = stack;
    const net = lab.network!;
    const oldName = await settle();
    const old = lab.node(oldName);
    // A failover a minute ago (the test before) would block this one: the cooldown.
    const reset = await command(stack.nc, "reset-failover-limits", {});
    expect(reset, JSON.stringify(reset)).toMatchObject({ ok: true });
    const staleAcks: Array<{ id: number; at: number }> = [];
    const stale = await startWriter(old, {
      intervalMs: 20,
      table: "stale_writer",
      firstId: Date.now(),
      onAck: (id, at) => staleAcks.push({ id, at }),
    });
    const acksBefore = writer.acked.length;
    await stale.waitForAcks(20);
    await writer.waitForAcks(acksBefore + 20);
    const sampler = sampleReadOnly(lab.nodes);
    let partition: Partition | undefined;
    try {
      partition = await net.isolate(oldName);
      const isolatedAt = performance.now();
      const isNew = newPrimary(oldName);
      const promoted = await obs.waitFor(
        (x): x is TopologySeen => x.at >= isolatedAt && isNew(x),
        60_000,
        "a new primary",
      );
      const newName = promoted.topology.primary!;
      const next = lab.node(newName);
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
      // The writer follows the topology: its first writes acknowledged by the new primary.
      const firstNewAt = await waitFor(
        async () => {
          const ids = (await idsByWriterNode(next)).get(newName) ?? [];
          return ids.length >= 5 ? performance.now() : undefined;
        },
        { timeoutMs: 30_000, message: `writes acknowledged by ${newName}` },
      );
      expect(await readOnly(next)).toBe(false);

      await sleep(Math.max(0, isolatedAt + holdMs - performance.now()));
      await partition.heal();
      const healedAt = performance.now();
      // The old primary comes back read-only (fenced) …
      await waitFor(async () => (await readOnlyNow(old)) === 1, {
        timeoutMs: 20_000,
        intervalMs: 20,
        message: `${oldName} read-only after the heal`,
      });
      const fencedMs = round(performance.now() - healedAt);
      // … and is rejoined under the new primary, or flagged (diverged), never a primary.
      const diverged = isEvent("OldPrimaryDiverged", oldName);
      const outcome = await waitFor(
        async () => {
          if (await replicatesFromHost(old, next)) return "rejoined";
          return obs.seen.some((x) => x.at >= isolatedAt && diverged(x))
            ? "flagged diverged"
            : undefined;
        },
        { timeoutMs: 60_000, message: `${oldName} rejoined or flagged` },
      );
      await sleep(1_000);
      const samples = await sampler.stop();
      expect(await readOnly(old)).toBe(true);
      // A non-SUPER write on the old primary is refused.
      const app = await old.connect({
        user: "app",
        connectTimeoutMs: 2_000,
        socketTimeoutMs: 5_000,
      });
      try {
        await expect(
          app.query("INSERT INTO app.stale_writer (id, node) VALUES (?, ?)", [1, oldName]),
        ).rejects.toThrow(/read-only|read_only/i);
      } finally {
        await app.end().catch(() => {});
      }
      await stale.stop();

      const lateOnOld = staleAcks.filter((a) => a.at >= promoted.at);
      const twoWhileReachable = samples.filter((s) => s.at >= healedAt && writableIn(s).length > 1);
      console.log(
        `[${label}] failover with ${oldName}'s host isolated (${round(holdMs / 1000)} s at ` +
          `least): new primary ${newName} published ${round(promoted.at - isolatedAt)} ms ` +
          `after the isolation, its first writes acknowledged by ${round(firstNewAt - isolatedAt)} ms; ` +
          `healed ${round(healedAt - isolatedAt)} ms after it; ${oldName} read-only ${fencedMs} ms ` +
          `after the heal (samples with two writable servers after the heal: ` +
          `${twoWhileReachable.length}), ${outcome}; client writing to ${oldName}: ` +
          `${staleAcks.length} acked, ${lateOnOld.length} of them after the promotion ` +
          `${JSON.stringify(lateOnOld.slice(0, 5).map((a) => round(a.at - healedAt)))} ms after the heal, ` +
          `${stale.failed.length} failed`,
      );
      // The topology never named two primaries.
      expect(
        obs.topologies().filter((t) => t.servers.filter((x) => x.role === "primary").length > 1),
      ).toEqual([]);
      // Once the old primary's fence took effect, never two writable servers. (While it was
      // cut off nothing could reach it to fence it: it stays writable for its own socket.)
      const lastOldWritable = samples.filter((x) => x.ro[oldName] === 0).at(-1)?.at ?? isolatedAt;
      if (holdMs < SEMI_SYNC_TIMEOUT_MS) {
        // Semi-sync held every write on the cut-off primary: nothing acknowledged by it once
        // the new one took writes.
        expect(lateOnOld).toEqual([]);
      } else {
        // Past rpl_semi_sync_master_timeout the cut-off primary fell back to async: from
        // the heal until Marina's fence lands (one probe interval), a client beside it can
        // have writes acknowledged that the new primary never gets. That is the open hazard
        // strict durability and self-fencing (issue 13) close; here: none after the fence.
        const lost = await findMissingIds(
          next,
          lateOnOld.map((a) => a.id),
          "stale_writer",
        );
        console.log(
          `[${label}] ${oldName} acknowledged ${lateOnOld.length} writes after the promotion ` +
            `(${lost.length} not on ${newName}): semi-sync had fallen back to async`,
        );
        // The fence landed before the first sample that read it read-only had finished,
        // i.e. before the sample after that one began; an ack in flight then gets 250 ms.
        const firstReadOnly = samples.findIndex((x) => x.at > lastOldWritable);
        const fencedBy = (samples[firstReadOnly + 1]?.at ?? Number.POSITIVE_INFINITY) + 250;
        expect(lateOnOld.filter((a) => a.at > fencedBy)).toEqual([]);
      }
      expect(
        samples.filter((x) => x.at > lastOldWritable && writableIn(x).length > 1).map((x) => x.ro),
      ).toEqual([]);
      // Every write the topology-following writer got acknowledged is on the new primary
      // (semi-sync AFTER_SYNC: what the old one acknowledged before the cut reached a replica).
      expect(await findMissingIds(next, [...writer.acked])).toEqual([]);
    } finally {
      await sampler.stop();
      await stale.stop();
      await partition?.heal();
    }
  }

  // Defined in the suite that runs them only (a skipped test is not a test).
  if (so.failovers) {
    it("fails over when the primary's host is isolated; healed at once, it is read-only, rejoined or flagged", () =>
      isolatePrimary(0));

    it("the same with an isolation that outlasts rpl_semi_sync_master_timeout", () =>
      isolatePrimary(SEMI_SYNC_TIMEOUT_MS + 3_000));
  }
});
