// End to end on real servers: lab (3 nodes, semi-sync AFTER_SYNC) + monitor + 2 executors +
// decider, with a non-SUPER writer running throughout.

import { contains, parseGtidList } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { findMissingIds, gtidOf, startWriter, waitFor, waitForConvergence } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { pollReadOnly } from "../src/scenarios/read-only-poller.js";
import { type Stack, startStack } from "../src/stack.js";

describe("automatic failover after kill -9 of the primary", () => {
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

  it("runs with least privilege: the monitor's and the executors' accounts lack nothing they use", async () => {
    expect(stack.config.clusters[0]?.monitorAccount?.user).toBe("marina_monitor");
    const checked = [
      ...(await stack.monitor!.privileges),
      ...(await Promise.all(stack.executors.map((e) => e.privileges))).flat(),
    ];
    expect(checked).toHaveLength(9); // 3 servers × (1 monitor + 2 executors)
    for (const r of checked) {
      expect(r.kind === "checked" && r.report.missing).toEqual([]);
    }
  });

  it("promotes a replica, loses no acknowledged write, repoints the other, rejoins the old primary", async () => {
    const { lab } = stack;
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1",
      20_000,
      "initial topology",
    );
    let writeTo: MariaNode = lab.node("db1");
    const writer = await startWriter(() => writeTo, { intervalMs: 5 });
    await writer.waitForAcks(50);

    await lab.node("db1").kill9();
    const promoted = await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary !== null && o.topology.primary !== "db1",
      30_000,
      "a topology with a new primary",
    );
    const newPrimaryName = promoted.kind === "topology" ? promoted.topology.primary! : "";
    expect(["db2", "db3"]).toContain(newPrimaryName);
    const newPrimary = lab.node(newPrimaryName);
    const other = lab.node(newPrimaryName === "db2" ? "db3" : "db2");

    // the writer can write on the new primary (it is writable for a non-SUPER user)
    writeTo = newPrimary;
    const before = writer.acked.length;
    await waitFor(() => writer.acked.length >= before + 20, 20_000);
    await writer.stop();

    // every write the old primary acknowledged (semi-sync AFTER_SYNC) is on the new primary
    expect(await findMissingIds(newPrimary, writer.acked)).toEqual([]);

    // the other replica follows the new primary and converges
    await waitForConvergence([newPrimary, other], { timeoutMs: 30_000 });
    const status = (await other.query("SHOW ALL SLAVES STATUS")) as Array<Record<string, unknown>>;
    expect(status.map((r) => `${r.Master_Host}:${r.Master_Port}`)).toEqual([
      `${newPrimary.replicationHost}:${newPrimary.replicationPort}`,
    ]);

    // the operation reported success
    const done = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      10_000,
      "failover result",
    );
    expect(
      done.kind === "operation" && done.operation.state,
      JSON.stringify(done.kind === "operation" && done.operation),
    ).toBe("succeeded");

    // The old primary comes back. Killed mid-commit under AFTER_SYNC it may hold a
    // transaction no replica got (LAB.md): then it must be flagged, not rejoined. Otherwise
    // it rejoins as a read-only replica of the new primary. (rejoin.int.test.ts covers the
    // rejoin deterministically.)
    const db1 = lab.node("db1");
    // read_only=ON in its my.cnf (the recommended setting, the lab's default): the returned
    // old primary is never writable, not even for the moment before Marina fences it.
    const poller = pollReadOnly(db1, 20);
    await db1.start();
    await poller.firstReadOnly(30_000);
    const outcome = await obs.waitFor(
      (o) =>
        (o.kind === "operation" &&
          o.operation.kind === "rejoin" &&
          o.operation.servers.server === "db1" &&
          o.operation.state !== "running") ||
        (o.kind === "event" &&
          o.event.situation === "OldPrimaryDiverged" &&
          o.event.server === "db1"),
      60_000,
      "db1 rejoined or flagged diverged",
    );
    const [ro] = (await db1.query("SELECT @@read_only AS ro")) as Array<{ ro: number }>;
    expect(ro!.ro).toBe(1);
    poller.stop();
    expect(poller.samples.filter((s) => !s.readOnly)).toEqual([]);
    const [state] = (await newPrimary.query("SELECT @@gtid_binlog_state AS s")) as Array<{
      s: string;
    }>;
    const history = parseGtidList(
      [state!.s, (await gtidOf(newPrimary)).currentPos].filter(Boolean).join(","),
    );
    if (outcome.kind === "event") {
      // diverged: it really has what the new primary lacks, and it does not replicate
      expect(outcome.event.extraGtids).toBeTruthy();
      expect(contains(history, parseGtidList((await gtidOf(db1)).binlogPos))).toBe(false);
      const rows = (await db1.query("SHOW ALL SLAVES STATUS")) as Array<Record<string, unknown>>;
      expect(rows.filter((r) => r.Slave_SQL_Running === "Yes")).toEqual([]);
      return;
    }
    expect(outcome.kind === "operation" && outcome.operation.state).toBe("succeeded");
    await waitFor(async () => {
      const rows = (await db1.query("SHOW ALL SLAVES STATUS")) as Array<Record<string, unknown>>;
      return (
        rows.length === 1 &&
        rows[0]!.Master_Host === newPrimary.replicationHost &&
        rows[0]!.Master_Port === newPrimary.replicationPort &&
        rows[0]!.Slave_SQL_Running === "Yes"
      );
    }, 30_000);
    await waitForConvergence([newPrimary, db1, other], {
      timeoutMs: 30_000,
      sources: [newPrimary],
    });
    expect((await gtidOf(db1)).currentPos).toBe((await gtidOf(newPrimary)).binlogPos);
  });
});
