// The old primary rejoins deterministically: its last write reached the replicas before the
// kill -9 (no commit in flight), so its history is contained in the new primary's.
import { gtidOf, startWriter, waitFor, waitForConvergence } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";

describe("rejoin of a returned old primary", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("fences it, then makes it a read-only replica of the new primary that converges", async () => {
    const { lab } = stack;
    const db1 = lab.node("db1");
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 20_000);
    const writer = await startWriter(db1, { intervalMs: 5 });
    await writer.waitForAcks(50);
    await writer.stop();
    await waitForConvergence(lab.nodes, { timeoutMs: 30_000 });

    await db1.kill9();
    const promoted = await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary !== null && o.topology.primary !== "db1",
      30_000,
      "a new primary",
    );
    const newPrimary = lab.node(promoted.kind === "topology" ? promoted.topology.primary! : "");
    // the new primary takes writes of its own before the old one returns
    const after = await startWriter(newPrimary, { intervalMs: 5, firstId: 1_000_000 });
    await after.waitForAcks(20);
    await after.stop();

    await db1.start();
    const rejoin = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "rejoin" &&
        o.operation.servers.server === "db1" &&
        o.operation.state !== "running",
      60_000,
      "the rejoin of db1",
    );
    expect(rejoin.kind === "operation" && rejoin.operation.state).toBe("succeeded");
    expect(
      obs.events().filter((e) => e.situation === "OldPrimaryDiverged" && e.server === "db1"),
    ).toEqual([]);
    const [ro] = (await db1.query("SELECT @@read_only AS ro")) as Array<{ ro: number }>;
    expect(ro!.ro).toBe(1);
    await waitFor(async () => {
      const rows = (await db1.query("SHOW ALL SLAVES STATUS")) as Array<Record<string, unknown>>;
      return (
        rows.length === 1 &&
        rows[0]!.Master_Host === newPrimary.replicationHost &&
        rows[0]!.Master_Port === newPrimary.replicationPort &&
        rows[0]!.Slave_SQL_Running === "Yes" &&
        rows[0]!.Slave_IO_Running === "Yes"
      );
    }, 30_000);
    await waitForConvergence(lab.nodes, { timeoutMs: 30_000, sources: [newPrimary] });
    expect((await gtidOf(db1)).currentPos).toBe((await gtidOf(newPrimary)).binlogPos);
  });
});
