// A decider that lost its lease acts on nothing: two deciders as OS processes; the leader is
// SIGSTOPped as a switchover starts, for longer than the lease TTL; the other takes over and
// finishes the switchover; then the paused one is resumed (SIGCONT) while more work flows.
import type { OperationEvent } from "@marina/contracts";
import { findMissingIds, sleep, startWriter, type Writer, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observed, type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  type ExecRecorder,
  followTopologyWriter,
  killAll,
  leadershipLines,
  operationResult,
  readLease,
  recordExec,
  replicatesFrom,
  type Spawned,
  topologyWith,
  type WriterTarget,
  waitForReplicaSamples,
  waitLeaseHolder,
  wrapChild,
} from "./ha-helpers.js";

const TTL_MS = 2000;

describe("a decider paused past its lease", () => {
  let stack: Stack;
  let obs: Observer;
  let exec: ExecRecorder;
  let target: WriterTarget;
  let writer: Writer | undefined;
  const deciders: Spawned[] = [];
  let onSwitchoverRunning: ((e: OperationEvent) => void) | undefined;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 }, deciders: 0 });
    target = followTopologyWriter(stack.lab, "db1");
    obs = observe(stack.nc, "main", (o) => {
      target.onRecord(o);
      if (
        o.kind === "operation" &&
        o.operation.kind === "switchover" &&
        o.operation.state === "running" &&
        onSwitchoverRunning
      ) {
        const f = onSwitchoverRunning;
        onSwitchoverRunning = undefined;
        f(o.operation);
      }
    });
    exec = recordExec(stack.nc);
    for (const id of ["decider-a", "decider-b"]) {
      deciders.push(wrapChild(id, stack.spawnDecider(id, ["--lease-ttl-ms", String(TTL_MS)])));
    }
  });
  afterAll(async () => {
    await writer?.stop();
    exec?.close();
    obs?.close();
    await killAll(deciders);
    await stack?.close();
  });

  it("cannot execute anything after SIGCONT, knows it is not the leader, and does not answer for the leader", async () => {
    const { lab } = stack;
    const lease0 = await waitFor(() => readLease(stack.nc), {
      timeoutMs: 20_000,
      message: "a decider holding the lease",
    });
    await topologyWith(obs, (t) => t.writer?.server === "db1", 20_000, "db1 as writer");
    const stale = deciders.find((d) => d.id === lease0.holder)!;
    const other = deciders.find((d) => d.id !== lease0.holder)!;
    writer = await startWriter(() => target.node(), { intervalMs: 5 });
    await writer.waitForAcks(50);

    // pause the leader as soon as its switchover is under way
    let stoppedAt = 0;
    onSwitchoverRunning = () => {
      stale.signal("SIGSTOP");
      stoppedAt = performance.now();
    };
    const reply = await command(stack.nc, "switchover", { target: "db2" });
    const logs = () => deciders.map((d) => `${d.id}:\n${d.log.tail(30)}`).join("\n");
    expect(reply, `${JSON.stringify(reply)}\n${logs()}`).toMatchObject({ ok: true });
    const opId = reply.ok ? reply.opId! : "";
    await waitFor(() => stoppedAt > 0, 10_000);

    // the other decider takes the lease (higher epoch) and finishes the switchover
    const lease1 = await waitLeaseHolder(stack.nc, other.id);
    expect(lease1.epoch).toBeGreaterThan(lease0.epoch);
    const done = await operationResult(obs, opId, 60_000);
    expect(done.state, `${done.message} ${JSON.stringify(done.error)}`).toBe("succeeded");
    expect(done.epoch).toBe(lease1.epoch);
    await topologyWith(obs, (t) => t.writer?.server === "db2", 10_000, "db2 as writer");
    // paused for well over the TTL
    await waitFor(() => performance.now() - stoppedAt > 2 * TTL_MS, 10_000);

    // resume the paused one, and keep work flowing for it to (wrongly) act on
    const contAt = performance.now();
    stale.signal("SIGCONT");
    await waitFor(() => replicatesFrom(lab.node("db1"), lab.node("db2")), 20_000);
    await waitForReplicaSamples(stack.nc, ["db1", "db3"], lab.node("db2").port);
    // every command is answered by the leader: the resumed one neither takes nor refuses it
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await command(stack.nc, "status", {}, 15_000));
    const refused = replies.filter((r) => !r.ok);
    expect.soft(refused, JSON.stringify(refused)).toEqual([]);
    // A command the resumed process forwards reaches both it and the leader: the leader
    // starts the operation while the client may get the resumed one's NOT_LEADER. So the
    // reply is checked softly and the operation is found on its subject.
    const backAt = performance.now();
    const back = await command(stack.nc, "switchover", { target: "db1" });
    expect.soft(back, JSON.stringify(back)).toMatchObject({ ok: true });
    const backStarted = await obs.waitFor(
      (o) =>
        o.at >= backAt &&
        o.kind === "operation" &&
        o.operation.kind === "switchover" &&
        o.operation.servers.target === "db1",
      10_000,
      "the switchover back to db1",
    );
    const backOpId = backStarted.kind === "operation" ? backStarted.operation.opId : "";
    const backDone = await operationResult(obs, backOpId, 60_000);
    expect(backDone.state, backDone.message).toBe("succeeded");
    expect(backDone.epoch).toBe(lease1.epoch);
    await sleep(2 * TTL_MS); // the resumed process's timers (lease, ticks, step timeouts) run

    // No exec request with the old epoch is RUN after SIGCONT. One may still be seen on the
    // wire: a request the process had queued just before it was paused leaves its socket
    // buffer when it resumes. That is what the epoch (fencing token) is for: the executor
    // must answer it with STALE_EPOCH. Its own answer is told apart from the new leader's
    // answer to the same step id by the inbox it goes to.
    const after = exec.requests.filter((r) => r.at >= contAt);
    expect(after.length).toBeGreaterThan(0);
    const staleSent = after.filter((r) => r.request.epoch < lease1.epoch);
    const staleRun = staleSent.filter((r) =>
      (r.reply ? (exec.resultsByInbox.get(r.reply) ?? []) : []).some(
        (x) => x.ok || x.error?.code !== "STALE_EPOCH",
      ),
    );
    expect(staleRun.map((r) => r.request)).toEqual([]);
    // at most what was in flight at the pause: the first step(s) of the paused operation
    expect(staleSent.every((r) => r.request.opId === opId)).toBe(true);

    // nor does it publish anything in the leader's name (topology, operations, situations)
    const epochOf = (o: Observed): number | null =>
      o.kind === "topology"
        ? o.topology.epoch
        : o.kind === "operation"
          ? o.operation.epoch
          : o.kind === "event"
            ? o.event.epoch
            : null; // published by monitors, not deciders
    const stalePublished = obs.seen.filter((o) => {
      const e = epochOf(o);
      return o.at >= contAt && e !== null && e < lease1.epoch;
    });
    expect(stalePublished.map((o) => JSON.stringify(o).slice(0, 300))).toEqual([]);

    // the resumed process says it is not the leader, and the lease stayed with the other
    expect(stale.alive()).toBe(true);
    const after0 = leadershipLines(stale).filter((l) => l.at >= contAt);
    expect
      .soft(
        after0.some((l) => !l.leader),
        `log of ${stale.id} after SIGCONT:\n${stale.log.tail(15)}`,
      )
      .toBe(true);
    expect((await readLease(stack.nc))?.holder).toBe(other.id);

    const report = await writer.stop();
    expect(await findMissingIds(lab.node("db1"), report.acked)).toEqual([]);
  });
});
