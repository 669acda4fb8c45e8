// STONITH end to end (issue 13): a frozen primary (SIGSTOP) cannot be fenced over SQL, and
// when it thaws its waiting commits are released by the semi-sync timeout. Its host's agent
// still answers, so before the promotion it SIGKILLs the frozen mariadbd: the operation
// says so, the thaw finds nothing to resume, and a client pinned to the old primary is
// never told OK for a write the new primary lacks.
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";

describe("STONITH of a frozen primary", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    // A semi-sync timeout shorter than the freeze: without STONITH the thaw would release
    // the waiting commits as acknowledged writes.
    stack = await startStack({
      lab: { nodes: 3, semiSync: true, semiSyncMasterTimeoutMs: 2_000 },
      agents: true,
    });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("kills the frozen mariadbd before the promotion; nothing acknowledged is lost", async () => {
    const { lab } = stack;
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    const db1 = lab.node("db1");
    let primary = "db1";
    const follow = await startWriter(() => lab.node(primary), { intervalMs: 5 });
    const pinned = await startWriter(db1, { intervalMs: 5, firstId: 10_000_000 });
    await follow.waitForAcks(30);
    await db1.sigstop();
    const done = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      30_000,
      "the failover's end",
    );
    if (done.kind !== "operation") throw new Error("unreachable");
    expect(done.operation.state).toBe("succeeded");
    expect(done.operation.message).toMatch(/STONITH through agent-db1: db1's mariadbd killed/);
    expect(done.operation.message).toMatch(/promoted because/);
    primary = done.operation.servers.candidate!;
    expect(db1.isRunning()).toBe(false);
    const pinnedBeforeThaw = pinned.acked.length;
    await db1.sigcont(); // nothing left to thaw
    const before = follow.acked.length;
    await waitFor(() => follow.acked.length >= before + 20, 20_000);
    await Promise.all([follow.stop(), pinned.stop()]);
    // Without STONITH the thaw would answer the pinned client's waiting commit OK after the
    // 2 s semi-sync timeout; the killed server answers nothing.
    expect(pinned.acked.length).toBe(pinnedBeforeThaw);
    const newPrimary = lab.node(primary);
    expect(await findMissingIds(newPrimary, [...follow.acked, ...pinned.acked])).toEqual([]);
    // Its supervisor would start it again: Marina then rejoins it or flags it diverged.
    await db1.start();
    await obs.waitFor(
      (o) =>
        (o.kind === "operation" &&
          o.operation.kind === "rejoin" &&
          o.operation.state === "succeeded") ||
        (o.kind === "event" &&
          o.event.situation === "OldPrimaryDiverged" &&
          o.event.server === "db1"),
      30_000,
      "db1 rejoined or flagged diverged",
    );
  });
});
