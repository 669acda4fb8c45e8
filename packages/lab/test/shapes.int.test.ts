import { describe, expect, it } from "vitest";
import {
  countRows,
  gtidOf,
  parseGtidList,
  replicaStatus,
  waitFor,
  waitForConvergence,
  watchPositions,
  writeRows,
} from "../src/index.js";
import { useLab } from "../src/vitest.js";

describe("multi-source lab", () => {
  const getLab = useLab({ shape: "multi-source", nats: false });

  it("gives the replica rows from both primaries and a two-domain gtid_slave_pos", async () => {
    const lab = getLab();
    const [p1, p2, r] = lab.nodes;
    if (!p1 || !p2 || !r) throw new Error("expected 3 nodes");
    expect(lab.primaries).toEqual([p1, p2]);
    expect([p1.domainId, p2.domainId]).toEqual([1, 2]);

    await writeRows(p1, 3, { table: "from_p1" });
    await writeRows(p2, 4, { table: "from_p2" });
    await waitForConvergence(lab.nodes, { timeoutMs: 10_000 });

    expect(await countRows(r, "from_p1")).toBe(3);
    expect(await countRows(r, "from_p2")).toBe(4);
    const slave = parseGtidList((await gtidOf(r)).slavePos);
    expect([...slave.keys()].sort()).toEqual([1, 2]);
    expect(slave.get(1)?.serverId).toBe(1);
    expect(slave.get(2)?.serverId).toBe(2);
    expect((await gtidOf(r)).slavePos).toMatch(/^1-1-\d+,2-2-\d+$/);

    const conns = await replicaStatus(r);
    expect(conns.map((c) => c.connectionName).sort()).toEqual(["p1", "p2"]);
    for (const c of conns) expect([c.ioRunning, c.sqlRunning]).toEqual(["Yes", "Yes"]);

    // The CLI's live view shows both named connections.
    const blocks: string[] = [];
    const watcher = watchPositions(lab, (b) => blocks.push(b), { intervalMs: 50 });
    await waitFor(() => blocks.length > 0, 5_000);
    await watcher.stop();
    expect(blocks[0]).toContain(`'p1' from ${p1.replicationHost}`);
    expect(blocks[0]).toContain(`'p2' from ${p2.replicationHost}`);
  });
});

describe("chain lab", () => {
  const getLab = useLab({ shape: "chain", nodes: 3, nats: false });

  it("carries a write on A through the relay B to C", async () => {
    const lab = getLab();
    const [a, b, c] = lab.nodes;
    if (!a || !b || !c) throw new Error("expected 3 nodes");
    expect((await replicaStatus(b))[0]?.masterPort).toBe(a.replicationPort);
    expect((await replicaStatus(c))[0]?.masterPort).toBe(b.replicationPort);

    await writeRows(a, 6);
    await waitForConvergence(lab.nodes, { timeoutMs: 10_000 });
    expect(await countRows(c, "lab_rows")).toBe(6);
    expect((await gtidOf(c)).currentPos).toBe((await gtidOf(a)).binlogPos);
  });
});
