// Executors that scale out: two executors as OS processes in the queue group; one is
// SIGKILLed while it runs a step of an operation, and the operation still succeeds.
import type { OperationEvent } from "@marina/contracts";
import { findMissingIds, type MariaNode, startWriter, type Writer, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  type ExecRecorder,
  followTopologyWriter,
  idsByWriterNode,
  killAll,
  operationResult,
  pidsConnectedTo,
  recordExec,
  replicatesFrom,
  type Spawned,
  spawnExecutor,
  topologyWith,
  type WriterTarget,
  waitForReplicaSamples,
} from "./ha-helpers.js";

describe("an executor dies mid-operation", () => {
  let stack: Stack;
  let obs: Observer;
  let exec: ExecRecorder;
  let target: WriterTarget;
  let writer: Writer | undefined;
  const executors: Spawned[] = [];
  let onFailoverRunning: ((e: OperationEvent) => void) | undefined;
  /** Who acknowledged each id, and when (performance.now()), for a loss's message. */
  const ackedBy = new Map<number, { node: string; at: number }>();
  /**
   * Acknowledged ids missing on `node`, each with the server that acknowledged it and when,
   * next to the operation's phases and steps: what a lost write needs explained.
   */
  async function lossReport(node: MariaNode, opId: string): Promise<string> {
    const missing = await findMissingIds(node, writer!.acked);
    if (missing.length === 0) return "";
    const phases = obs.seen
      .filter((o) => o.kind === "operation" && o.operation.opId === opId)
      .map((o) =>
        o.kind === "operation"
          ? `${Math.round(o.at)} ${o.operation.state} ${o.operation.phase}: ${o.operation.message}`
          : "",
      );
    const lost = missing.map((id) => {
      const a = ackedBy.get(id);
      return `${id} acked by ${a?.node} at ${Math.round(a?.at ?? Number.NaN)}`;
    });
    const rows = await Promise.all(
      ["db1", "db2", "db3"].map(async (n) => {
        const r = await stack.lab
          .node(n)
          .query("SELECT @@gtid_binlog_pos AS b, @@gtid_slave_pos AS s, @@read_only AS ro");
        return `${n}: ${JSON.stringify(r)}`;
      }),
    );
    return [`lost: ${lost.join(", ")}`, ...phases, `steps: ${trace(opId)}`, ...rows].join("\n");
  }

  async function addExecutor(id: string): Promise<Spawned> {
    const e = spawnExecutor(stack.configFile, id);
    executors.push(e);
    await e.log.waitFor((l) => l.json?.msg === "serving exec requests", 20_000, `${id} serving`);
    return e;
  }
  const alive = () => executors.filter((e) => e.alive());
  /** The operation's exec requests and who answered them, for failure messages. */
  const trace = (opId: string) =>
    exec.requests
      .filter((r) => r.request.opId === opId)
      .map((r) => {
        const res = (exec.results.get(r.request.stepId) ?? []).map(
          (x) => `${x.executor}:${x.error?.code ?? "ok"}`,
        );
        return `${r.request.server} ${r.request.step.kind} -> ${res.join(",") || "no reply"}`;
      })
      .join("; ");

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 }, executors: 0 });
    target = followTopologyWriter(stack.lab, "db1");
    obs = observe(stack.nc, "main", (o) => {
      target.onRecord(o);
      if (
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state === "running" &&
        onFailoverRunning
      ) {
        const f = onFailoverRunning;
        onFailoverRunning = undefined;
        f(o.operation);
      }
    });
    exec = recordExec(stack.nc);
    await addExecutor("e1");
    await addExecutor("e2");
    await topologyWith(obs, (t) => t.writer?.server === "db1", 20_000, "db1 as writer");
    writer = await startWriter(() => target.node(), {
      intervalMs: 5,
      onAck: (id, at, node) => ackedBy.set(id, { node, at }),
    });
    await writer.waitForAcks(50);
  });
  afterAll(async () => {
    await writer?.stop();
    exec?.close();
    obs?.close();
    await killAll(executors);
    await stack?.close();
  });

  it("switchover: the executor running the demotion's wait is killed, the switchover still succeeds", async () => {
    const { lab } = stack;
    const old = lab.node("db1");
    // The demotion waits for db1's binlog to be stable (>= 200 ms): kill the executor that
    // holds a connection to db1 while that step runs.
    let victim: Spawned | undefined;
    const killed = exec
      .waitForRequest(
        (r) => r.request.step.kind === "wait-binlog-stable" && r.request.server === "db1",
        30_000,
        "the demotion's wait-binlog-stable step",
      )
      .then(async () => {
        victim = await waitFor(
          () => {
            const pids = pidsConnectedTo(
              old.port,
              alive().map((e) => e.pid),
            );
            return pids.length === 1 ? alive().find((e) => e.pid === pids[0]) : undefined;
          },
          { timeoutMs: 2_000, intervalMs: 2, message: "the executor running the wait on db1" },
        );
        victim.signal("SIGKILL");
        await victim.exited();
      });

    const reply = await command(stack.nc, "switchover", { target: "db2" });
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    const opId = reply.ok ? reply.opId! : "";
    await killed;
    expect(victim?.alive()).toBe(false);
    expect(alive()).toHaveLength(1);

    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message}; killed ${victim?.id}; steps: ${trace(opId)}`).toBe(
      "succeeded",
    );
    const db2 = lab.node("db2");
    await topologyWith(obs, (t) => t.writer?.server === "db2", 10_000, "db2 as writer");
    await waitFor(async () => ((await idsByWriterNode(db2)).get("db2")?.length ?? 0) >= 20, 20_000);
    await waitFor(() => replicatesFrom(old, db2), 20_000);
    await waitFor(() => replicatesFrom(lab.node("db3"), db2), 20_000);
    expect(await lossReport(db2, opId)).toBe("");
    await waitForReplicaSamples(stack.nc, ["db1", "db3"], db2.port);
  });

  it("failover: an executor is killed as the failover starts, the failover still succeeds", async () => {
    const { lab } = stack;
    // back to two executors
    await addExecutor("e3");
    expect(alive()).toHaveLength(2);
    const primary = lab.node(target.name);
    let victim: Spawned | undefined;
    onFailoverRunning = () => {
      // The first steps (inspections) are already on their way: NATS gives each to one of
      // the two executors, so the killed one often dies holding some of them.
      victim = alive()[alive().length - 1]!;
      victim.signal("SIGKILL");
    };
    await primary.kill9();
    const started = await obs.waitFor(
      (o) => o.kind === "operation" && o.operation.kind === "failover",
      30_000,
      "a failover",
    );
    const opId = started.kind === "operation" ? started.operation.opId : "";
    await waitFor(() => victim !== undefined, 5_000);
    await victim!.exited();
    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message}; killed ${victim?.id}; steps: ${trace(opId)}`).toBe(
      "succeeded",
    );
    const topo = await topologyWith(
      obs,
      (t) => t.writer !== null && t.writer.server !== primary.name,
      10_000,
      "a new writer",
    );
    const next = lab.node(topo.writer!.server);
    await waitFor(
      async () => ((await idsByWriterNode(next)).get(next.name)?.length ?? 0) >= 20,
      20_000,
    );
    expect(await findMissingIds(next, writer!.acked)).toEqual([]);
  });
});
