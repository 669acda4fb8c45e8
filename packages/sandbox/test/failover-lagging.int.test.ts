// A lagging replica is repointed to the new primary after a kill -9 failover and converges:
// its relay log held events it had not applied, and nothing it received is lost.
import type { MariaNode } from "@marina/lab";
import { findMissingIds, gtidOf, startWriter, waitFor, waitForConvergence } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";

describe("failover with a lagging replica", () => {
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

  it("repoints the lagging replica, which converges with the new primary", async () => {
    const { lab } = stack;
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1",
      20_000,
      "initial topology",
    );
    const db3 = lab.node("db3");
    let writeTo: MariaNode = lab.node("db1");
    const writer = await startWriter(() => writeTo, { intervalMs: 5 });
    await writer.waitForAcks(20);
    // db3 keeps receiving but stops applying: it lags
    await db3.query("STOP SLAVE SQL_THREAD");
    const ackedBeforeLag = writer.acked.length;
    await writer.waitForAcks(ackedBeforeLag + 100);
    const [lag] = (await db3.query("SELECT COUNT(*) AS n FROM app.lab_writer")) as Array<{
      n: number;
    }>;
    expect(Number(lag!.n)).toBeLessThan(writer.acked.length);
    // Semi-sync needs one ack, and db3's IO thread still gives it: a write can be
    // acknowledged with only db3 holding it, and then no replica may be promoted (db3 does
    // not apply; db2 lacks it) — PrimaryDeadNoCandidate, rightly, and a flaky test. So the
    // writes pause until db2 has received all of them, and resume after the failover.
    const before = await writer.stop();
    const db1Pos = (await gtidOf(lab.node("db1"))).binlogPos;
    await waitFor(async () => (await gtidOf(lab.node("db2"))).currentPos === db1Pos, {
      timeoutMs: 15_000,
      message: "db2 holding every write of db1",
    });

    await lab.node("db1").kill9();
    const promoted = await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary !== null && o.topology.primary !== "db1",
      30_000,
      "a topology with a new primary",
    );
    const newPrimary = lab.node(promoted.kind === "topology" ? promoted.topology.primary! : "");
    writeTo = newPrimary;
    const after = await startWriter(() => writeTo, {
      intervalMs: 5,
      firstId: before.acked.length + before.failed.length + 1_000,
    });
    await after.waitForAcks(20, 20_000);
    await after.stop();
    const acked = [...before.acked, ...after.acked];
    expect(await findMissingIds(newPrimary, acked)).toEqual([]);

    // db3 is not a candidate: its SQL thread is stopped
    expect(newPrimary.name).toBe("db2");
    // the lagging replica replicates from the new primary, applying again
    await waitFor(async () => {
      const rows = (await db3.query("SHOW ALL SLAVES STATUS")) as Array<Record<string, unknown>>;
      return (
        rows.length === 1 &&
        rows[0]!.Master_Port === newPrimary.port &&
        rows[0]!.Slave_SQL_Running === "Yes" &&
        rows[0]!.Slave_IO_Running === "Yes"
      );
    }, 30_000);
    await waitForConvergence([newPrimary, db3], { timeoutMs: 30_000, sources: [newPrimary] });
    expect(await findMissingIds(db3, acked)).toEqual([]);
  });
});
