// The decider rebuilds a diverged replica through the host agents, end to end: a real lab
// (3 nodes), one agent per node driving the lab's own mariadbd, a monitor, two executors
// and a decider. Commands are typed as a person would (raw JSON on cmd.<verb>).
import type { CommandReply, OperationEvent } from "@marina/contracts";
import { buildApp as buildDecider } from "@marina/decider";
import {
  checksumTables,
  gtidOf,
  replicaStatus,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectAs } from "../src/lab-config.js";
import type { Observed, Observer } from "../src/observer.js";
import { observe } from "../src/observer.js";
import { type Stack, startLabAgent, startStack } from "../src/stack.js";
import { command, opEnded, replicating, status } from "./scenario-helpers.js";

const TABLES = ["lab_rows", "app.bulk"];

type OpSeen = Extract<Observed, { kind: "operation" }>;

const phaseOf = (e: OperationEvent) => e.phase;

describe("the decider rebuilds a diverged server through the agents", () => {
  let stack: Stack;
  let obs: Observer;
  const node = (n: string) => stack.lab.node(n);
  const figures: Record<string, unknown>[] = [];

  beforeAll(async () => {
    stack = await startStack({ agents: true, lab: { nodes: 3, semiSync: false } });
    obs = observe(stack.nc, "main");
    const db1 = node("db1");
    // The decider knows the primary and has heard every agent (a rebuild needs both).
    await waitFor(
      async () => {
        const st = await status(stack.nc).catch(() => ({}) as Record<string, unknown>);
        const agents = Object.values((st.agents ?? {}) as Record<string, number | null>);
        return st.primary === "db1" && agents.length === 3 && agents.every((a) => a !== null);
      },
      { timeoutMs: 30_000, message: "decider reporting db1 as primary and every agent" },
    );
    // Some bulk (~24 MB) so a transfer takes a moment and a cancel can land mid-stream.
    await writeRows(db1, 20);
    await db1.query(
      "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
    );
    await db1.query("INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_24000");
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
  });

  afterAll(async () => {
    if (figures.length) console.log(`rebuild figures: ${JSON.stringify(figures)}`);
    if (process.env.REBUILD_DEBUG) {
      for (const o of obs?.operations() ?? []) {
        console.log(`${o.opId} ${o.state} ${o.phase}: ${o.message}`);
      }
    }
    obs?.close();
    await stack?.close();
  });

  /** An errant transaction on a replica: a local write with read_only off, binlogged. */
  async function diverge(name: string, table: string, primary = "db1"): Promise<void> {
    const n = node(name);
    await n.query("SET GLOBAL read_only = 0");
    await n.query(`CREATE TABLE app.${table} (i INT PRIMARY KEY) ENGINE=InnoDB`);
    await n.query(`INSERT INTO app.${table} VALUES (1)`);
    // The primary moves on: under gtid_strict_mode the replica's SQL thread now stops too.
    await writeRows(node(primary), 5);
  }

  /** The ServerDiverged event for `name` after `since` (performance.now()). */
  function divergedEvent(name: string, since: number) {
    return obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.at >= since &&
        o.event.situation === "ServerDiverged" &&
        o.event.server === name,
      30_000,
      `ServerDiverged for ${name}`,
    );
  }

  async function expectSameAsPrimary(
    name: string,
    gone: string | null,
    primaryName = "db1",
  ): Promise<void> {
    const primary = node(primaryName);
    const target = node(name);
    await waitFor(() => replicating(target), { timeoutMs: 30_000, message: `${name} replicating` });
    const [link] = await replicaStatus(target);
    expect(link?.masterPort).toBe(primary.port);
    await writeRows(primary, 3);
    const live = stack.lab.nodes.filter((n) => n.isRunning());
    await waitForConvergence(live, { sources: [primary], timeoutMs: 60_000 });
    expect((await gtidOf(target)).currentPos).toBe((await gtidOf(primary)).binlogPos);
    expect(await checksumTables(target, TABLES)).toEqual(await checksumTables(primary, TABLES));
    if (gone) {
      const [row] = await target.query<{ n: number }[]>(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name=?",
        [gone],
      );
      expect(Number(row?.n)).toBe(0);
    }
    expect(await target.query<{ ro: number }[]>("SELECT @@global.read_only AS ro")).toEqual([
      { ro: 1 },
    ]);
  }

  /** The end of the next rebuild of `target` after `since`. */
  const rebuildEnd = (target: string, since: number) =>
    obs.waitFor(
      (o): o is OpSeen =>
        o.kind === "operation" &&
        o.at >= since &&
        o.operation.kind === "rebuild" &&
        o.operation.servers.target === target &&
        o.operation.state !== "running",
      120_000,
      `end of a rebuild of ${target}`,
    );
  const auto = rebuildEnd;

  async function rebuildByCommand(body: string): Promise<OperationEvent> {
    const started = performance.now();
    const reply = await command(stack.nc, "rebuild", body);
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    const end = await obs.waitFor(opEnded(opId), 90_000, `end of rebuild ${opId}`);
    if (end.operation.state !== "succeeded") return end.operation;
    figures.push({
      body,
      wallMs: Math.round(performance.now() - started),
      timings: end.operation.timings,
    });
    return end.operation;
  }

  it("flags a replica with an errant write ServerDiverged, then rebuilds it from a replica", async () => {
    const since = performance.now();
    await diverge("db3", "errant1");
    const ev = await divergedEvent("db3", since);
    expect(ev.kind === "event" && ev.event.extraGtids).toMatch(/^0-3-\d+$/);

    const end = await rebuildByCommand('{"target":"db3"}');
    expect(end.state, end.message).toBe("succeeded");
    // An up-to-date replica is preferred to the primary as the source.
    expect(end.servers).toEqual({ target: "db3", source: "db2" });
    const phases = obs
      .operations()
      .filter((o) => o.opId === end.opId)
      .map(phaseOf);
    expect([...new Set(phases)]).toEqual(["start", "receive", "send", "stream", "attach"]);
    expect(Object.keys(end.timings)).toEqual(
      expect.arrayContaining(["receive", "send", "stream", "attach", "total"]),
    );
    await expectSameAsPrimary("db3", "errant1");
    // The donor replicates on.
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    const st = await status(stack.nc);
    expect(st.diverged).toEqual({});
    await obs.waitFor(
      (o) =>
        o.kind === "topology" &&
        o.topology.servers.some((s) => s.name === "db3" && s.role === "replica"),
      30_000,
      "db3 published as a replica",
    );
  });

  it("rebuilds from the primary when asked to", async () => {
    const since = performance.now();
    await diverge("db3", "errant2");
    await divergedEvent("db3", since);
    const end = await rebuildByCommand('{"target":"db3","source":"db1"}');
    expect(end.state, end.message).toBe("succeeded");
    expect(end.servers).toEqual({ target: "db3", source: "db1" });
    await expectSameAsPrimary("db3", "errant2");
  });

  it("refuses the primary and a healthy replica with reasons, and touches nothing", async () => {
    const since = performance.now();
    const before = await gtidOf(node("db2"));
    const primary = await command(stack.nc, "rebuild", '{"target":"db1"}');
    expect(primary).toMatchObject({ ok: false, error: { code: "REFUSED", path: "target" } });
    expect(!primary.ok && primary.error.message).toMatch(/db1 is the primary/);
    const healthy = await command(stack.nc, "rebuild", '{"target":"db2"}');
    expect(healthy).toMatchObject({ ok: false, error: { code: "REFUSED", path: "target" } });
    expect(!healthy.ok && healthy.error.message).toMatch(/replicates fine/);
    const unknown = await command(stack.nc, "rebuild", '{"target":"db9"}');
    expect(unknown).toMatchObject({ ok: false, error: { code: "UNKNOWN_SERVER" } });
    // Nothing started, nothing stopped.
    expect(obs.seen.some((o) => o.kind === "operation" && o.at >= since)).toBe(false);
    for (const n of stack.lab.nodes) expect(n.isRunning()).toBe(true);
    expect(await replicating(node("db2"))).toBe(true);
    expect((await gtidOf(node("db2"))).currentPos).toBe(before.currentPos);
  });

  it("an agent that is not running: the rebuild fails after a few tries, nothing touched", async () => {
    const since = performance.now();
    await diverge("db3", "errant3");
    await divergedEvent("db3", since);
    await stack.agents.get("db3")!.stop();
    try {
      // Its last heartbeat is still recent, so the rebuild starts and finds no agent.
      const end = await rebuildByCommand('{"target":"db3"}');
      expect(end.state).toBe("failed");
      expect(end.error?.code).toBe("SERVER_UNREACHABLE");
      expect(end.message).toMatch(/no agent serves host agent-db3/);
      expect(end.message).toMatch(/db3 was not changed/);
    } finally {
      stack.agents.set("db3", await startLabAgent(stack.lab, node("db3"), stack.log));
    }
    expect(node("db3").isRunning()).toBe(true);
    expect((await status(stack.nc)).diverged).toEqual({});
    const [t] = await node("db3").query<{ n: number }[]>("SELECT COUNT(*) AS n FROM app.errant3");
    expect(Number(t?.n)).toBe(1);
  });

  it("a cancel mid-stream cancels the rebuild: the donor replicates, the target stays flagged", async () => {
    // db3 is still diverged (errant3) from the test before.
    const since = performance.now();
    // zstd -19 streams at a few MB/s here: the stream surely runs when the cancel lands.
    const reply = await command(
      stack.nc,
      "rebuild",
      '{"target":"db3","source":"db2","compression":{"kind":"zstd","level":19}}',
    );
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    const moving = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.opId === opId &&
        o.operation.phase === "stream" &&
        (o.operation.progress?.bytes ?? 0) > 0,
      60_000,
      "progress of the stream",
    );
    expect(moving.kind === "operation" && moving.operation.progress?.totalBytes).toBeGreaterThan(0);
    const cancel = await command(stack.nc, "cancel", JSON.stringify({ opId, reason: "test" }));
    expect(cancel, JSON.stringify(cancel)).toMatchObject({ ok: true, opId });
    const end = await obs.waitFor(opEnded(opId), 90_000, "end of the cancelled rebuild");
    expect(end.operation.state, end.operation.message).toBe("cancelled");
    expect(end.operation.error?.code).toBe("CANCELLED");
    expect(end.operation.message).toMatch(/db3 stays flagged/);
    expect(end.operation.message).toMatch(/db2 replicates again/);
    // The donor replicates and keeps up; the target is stopped and flagged.
    await writeRows(node("db1"), 3);
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    expect(node("db3").isRunning()).toBe(false);
    const st = await status(stack.nc);
    expect(Object.keys(st.diverged as object)).toEqual(["db3"]);
    await obs.waitFor(
      (o) =>
        o.kind === "topology" &&
        o.at >= since &&
        o.topology.servers.some((s) => s.name === "db3" && s.role === "diverged"),
      30_000,
      "db3 published as diverged",
    );
  });

  it("a primary that fails mid-rebuild: the rebuild gives way to the failover", async () => {
    // db3 is still flagged from the test before. db2 was a donor a moment ago: until a fresh
    // sample shows its SQL thread running again, it is refused as a source.
    const since = performance.now();
    let reply: CommandReply | undefined;
    await waitFor(
      async () => {
        reply = await command(
          stack.nc,
          "rebuild",
          '{"target":"db3","source":"db2","compression":{"kind":"zstd","level":19}}',
        );
        return reply.ok || reply.error.path !== "source";
      },
      { timeoutMs: 15_000, message: "db2 accepted as a source again" },
    );
    if (!reply) throw new Error("no reply");
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.opId === opId &&
        (o.operation.progress?.bytes ?? 0) > 0,
      60_000,
      "progress of the stream",
    );
    await node("db1").kill9();
    const end = await obs.waitFor(opEnded(opId), 60_000, "end of the pre-empted rebuild");
    expect(end.operation.state).toBe("cancelled");
    expect(end.operation.message).toMatch(/db1 failed: a failover comes before a rebuild/);
    const failover = await obs.waitFor(
      (o): o is OpSeen =>
        o.kind === "operation" &&
        o.at >= since &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      60_000,
      "the failover",
    );
    expect(failover.operation.state, failover.operation.message).toBe("succeeded");
    expect(failover.operation.servers.candidate).toBe("db2");
    expect(Object.keys((await status(stack.nc)).diverged as object)).toEqual(["db3"]);
  });

  it("with failover.autoRebuild, flagged and diverged servers are rebuilt without a command", async () => {
    // A decider with autoRebuild takes over from the first one (same state in KV).
    const takeover = performance.now();
    const old = stack.deciders[0]!;
    await old.app.close(true);
    const cluster = stack.config.clusters[0]!;
    const config = {
      ...stack.config,
      clusters: [{ ...cluster, failover: { ...cluster.failover, autoRebuild: true } }],
    };
    const nc = await connectAs(stack.config, "decider", "decider-auto");
    const app = await buildDecider({
      config,
      id: "decider-auto",
      nc,
      log: stack.log.child({ decider: "decider-auto" }),
    });
    stack.deciders.push({ id: "decider-auto", app, nc });

    // db3, left flagged by the rebuilds that gave way, is rebuilt first, from the new
    // primary (db1 is dead, so no replica can be the source).
    const first = await auto("db3", takeover);
    expect(first.operation.state, first.operation.message).toBe("succeeded");
    expect(first.operation.servers).toEqual({ target: "db3", source: "db2" });
    await expectSameAsPrimary("db3", "errant3", "db2");

    // A replica that diverges now is rebuilt as soon as it is flagged.
    const since = performance.now();
    await diverge("db3", "errant4", "db2");
    const second = await auto("db3", since);
    expect(second.operation.state, second.operation.message).toBe("succeeded");
    await expectSameAsPrimary("db3", "errant4", "db2");
    expect((await status(stack.nc)).diverged).toEqual({});
  });
});
