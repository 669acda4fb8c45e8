// A highly available decider: two deciders as OS processes; the leader is SIGKILLed in the
// middle of a failover and the other one takes the lease over and finishes the failover.
import type { OperationEvent } from "@marina/contracts";
import { findMissingIds, startWriter, type Writer, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  followTopologyWriter,
  idsByWriterNode,
  killAll,
  leadershipLines,
  operationResult,
  readLease,
  type Spawned,
  topologyWith,
  type WriterTarget,
  waitLeaseHolder,
  wrapChild,
} from "./ha-helpers.js";

describe("the leading decider is killed mid-failover", () => {
  let stack: Stack;
  let obs: Observer;
  let target: WriterTarget;
  let writer: Writer | undefined;
  const deciders: Spawned[] = [];
  // armed by the test: runs synchronously on the first running failover event
  let onFailoverRunning: ((e: OperationEvent) => void) | undefined;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 }, deciders: 0 });
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
    for (const id of ["decider-a", "decider-b"]) {
      deciders.push(wrapChild(id, stack.spawnDecider(id)));
    }
  });
  afterAll(async () => {
    await writer?.stop();
    obs?.close();
    await killAll(deciders);
    await stack?.close();
  });

  it("the other decider takes the lease with a higher epoch and completes the failover", async () => {
    const { lab } = stack;
    const lease0 = await waitFor(() => readLease(stack.nc), {
      timeoutMs: 20_000,
      message: "a decider holding the lease",
    });
    await topologyWith(obs, (t) => t.writer?.server === "db1", 20_000, "db1 as writer");
    const leader = deciders.find((d) => d.id === lease0.holder)!;
    const follower = deciders.find((d) => d.id !== lease0.holder)!;
    expect(leader).toBeDefined();
    expect(leadershipLines(leader).some((l) => l.leader && l.epoch === lease0.epoch)).toBe(true);

    writer = await startWriter(() => target.node(), { intervalMs: 5 });
    await writer.waitForAcks(50);

    let killedAt = 0;
    let killedDuring: OperationEvent | undefined;
    onFailoverRunning = (e) => {
      leader.signal("SIGKILL");
      killedAt = performance.now();
      killedDuring = e;
    };
    await lab.node("db1").kill9();

    const started = await obs.waitFor(
      (o) => o.kind === "operation" && o.operation.kind === "failover",
      30_000,
      "a failover",
    );
    const opId = started.kind === "operation" ? started.operation.opId : "";
    await leader.exited();
    expect(leader.alive()).toBe(false);
    expect(killedDuring?.opId).toBe(opId);
    // the kill came before the failover ended
    const endedBeforeKill = obs.seen.some(
      (o) =>
        o.at <= killedAt &&
        o.kind === "operation" &&
        o.operation.opId === opId &&
        o.operation.state !== "running",
    );
    expect(endedBeforeKill).toBe(false);

    // the follower takes the lease over, with a higher epoch
    const lease1 = await waitLeaseHolder(stack.nc, follower.id);
    expect(lease1.epoch).toBeGreaterThan(lease0.epoch);
    await follower.log.waitFor(
      (l) => l.json?.leader === true && l.json?.epoch === lease1.epoch,
      10_000,
      `${follower.id} logging it became leader`,
    );

    // and finishes the failover it found in the persisted state
    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message} ${JSON.stringify(done.error)}`).toBe("succeeded");
    expect(done.epoch).toBe(lease1.epoch);
    const resumed = obs
      .operations()
      .some((e) => e.opId === opId && e.epoch === lease1.epoch && /resumed/.test(e.message));
    expect(resumed).toBe(true);

    const topo = await topologyWith(
      obs,
      (t) => t.writer !== null && t.writer.server !== "db1",
      20_000,
      "a topology with a new writer",
    );
    expect(topo.epoch).toBe(lease1.epoch);
    const newPrimary = lab.node(topo.writer!.server);
    expect(["db2", "db3"]).toContain(newPrimary.name);

    // writes succeed on the new primary, and none that was acknowledged is missing
    await waitFor(
      async () => ((await idsByWriterNode(newPrimary)).get(newPrimary.name)?.length ?? 0) >= 20,
      {
        timeoutMs: 20_000,
        message: `20 writes acknowledged by ${newPrimary.name}`,
      },
    );
    const report = await writer.stop();
    expect(await findMissingIds(newPrimary, report.acked)).toEqual([]);
  });
});
