// A multi-source replica keeps replicating from the primary that did NOT fail. Lab shape
// multi-source: db1 (domain 1) and db2 (domain 2) both primaries, db3 replicates both over
// connections 'p1' and 'p2'. Marina is configured with one cluster per primary, sharing db3
// (see multi-source-stack.ts for why). db1 dies: cluster p1 fails over to db3, dropping ONLY
// its connection 'p1'; db3's 'p2' keeps running and db2's writes keep arriving.
import { findMissingIds, startWriter, type Writer, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { type SplitClusters, splitConfig, startServices } from "./multi-source-stack.js";
import {
  healthLog,
  isOperation,
  newPrimary,
  readOnly,
  slaves,
  status,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a multi-source replica when one of its primaries dies", () => {
  let stack: Stack;
  let services: SplitClusters;
  let p1: Observer;
  let p2: Observer;

  beforeAll(async () => {
    stack = await startStack({
      lab: { shape: "multi-source", nodes: 3, semiSync: false },
      monitor: false,
      executors: 0,
      deciders: 0,
    });
    const config = splitConfig(stack, {
      p1: { servers: ["db1", "db3"] },
      p2: { servers: ["db2", "db3"] },
    });
    p1 = observe(stack.nc, "p1");
    p2 = observe(stack.nc, "p2");
    services = await startServices(stack, config);
  });
  afterAll(async () => {
    p1?.close();
    p2?.close();
    await services?.close();
    await stack?.close();
  });

  let w1: Writer | undefined;
  let w2: Writer | undefined;
  afterAll(async () => {
    await w1?.stop();
    await w2?.stop();
  });

  it("keeps db3's other connection running and db2's rows arriving", async () => {
    const { lab, nc } = stack;
    const db2 = lab.node("db2");
    const db3 = lab.node("db3");
    await waitPrimary(nc, "db1", 30_000, "p1");
    await waitPrimary(nc, "db2", 30_000, "p2");
    w1 = await startWriter(topologyWriter(lab, p1, "db1"), { intervalMs: 10, table: "w_p1" });
    w2 = await startWriter(db2, { intervalMs: 10, table: "w_p2" });
    await Promise.all([w1.waitForAcks(20), w2.waitForAcks(20)]);

    await lab.node("db1").kill9();
    const promoted = await p1.waitFor(newPrimary("db1"), 30_000, "p1 failover");
    expect(promoted.topology.primary).toBe("db3");
    const done = await p1.waitFor(
      isOperation((o) => o.kind === "failover" && o.state !== "running"),
      30_000,
      "p1 failover result",
    );
    expect(done.operation.state).toBe("succeeded");

    // db3 dropped 'p1' only; 'p2' from db2 is running.
    const links = await slaves(db3);
    expect(links.map((r) => r.Connection_name)).toEqual(["p2"]);
    expect(links[0]).toMatchObject({
      Master_Port: db2.port,
      Slave_IO_Running: "Yes",
      Slave_SQL_Running: "Yes",
    });

    // db2's writes keep arriving on db3, including those made after the failover.
    const atFailover = w2.acked.length;
    await w2.waitForAcks(atFailover + 50, 20_000);
    await waitFor(async () => (await findMissingIds(db3, w2!.acked, "w_p2")).length === 0, {
      timeoutMs: 20_000,
      message: "every row written on db2 present on db3",
    });
    const after = await slaves(db3);
    expect(after.map((r) => [r.Connection_name, r.Slave_IO_Running, r.Slave_SQL_Running])).toEqual([
      ["p2", "Yes", "Yes"],
    ]);
    // Cluster p2 ran no operation and still has db2 as its primary.
    expect((await status(nc, "p2")).primary).toBe("db2");
    expect(p2.operations()).toEqual([]);
  });

  // Cluster p2 still sees db3 — the server cluster p1 just promoted — as a replica of db2,
  // and writable. It does not fence it: db3 writes in its own GTID domain (0), none of p2's,
  // and holds domain 1 from outside p2 (db1's): the primary of another stream (decider-core
  // diagnose.ts, writableForOtherDomain).
  it("lets p1's writer write on db3 (p2 does not fence the server p1 promoted)", async () => {
    const { lab, nc } = stack;
    const db3 = lab.node("db3");
    // Let cluster p2 see db3 writable for a few probes.
    const health = healthLog(nc, "db3", "p2");
    try {
      await health.waitCount(4, (s) => s.reachable, 20_000);
    } finally {
      health.close();
    }
    expect(await readOnly(db3)).toBe(false);
    const before = w1!.acked.length;
    await w1!.waitForAcks(before + 20, 5_000);
  });
});
