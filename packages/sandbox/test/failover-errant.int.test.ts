// An errant replica (issue 17 part 3): rows written by hand on a replica (root bypasses
// read_only) give it GTIDs the primary never had. Marina flags it ServerDiverged with those
// GTIDs, shows it as diverged, keeps it out of promotion — though it is the preferred
// candidate — and, after kill -9 of the primary, promotes the other replica without
// losing an acknowledged write. The repair: a rebuild from the new primary, after which
// it is an ordinary replica again, without the errant rows.
import {
  findMissingIds,
  gtidContains,
  gtidOf,
  replicaStatus,
  startWriter,
  waitFor,
} from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { command } from "./ha-helpers.js";
import {
  isEvent,
  isOperation,
  isTopology,
  newPrimary,
  type Row,
  replicating,
  roleOf,
  status,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a replica with errant transactions", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({
      agents: true,
      lab: { semiSync: true, nodes: 3 },
      config: { promotion: { db3: "prefer" } },
    });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("is flagged, never promoted though preferred, and repaired by a rebuild", async () => {
    const { lab, nc } = stack;
    const [db1, db2, db3] = ["db1", "db2", "db3"].map((n) => lab.node(n)) as [
      ReturnType<typeof lab.node>,
      ReturnType<typeof lab.node>,
      ReturnType<typeof lab.node>,
    ];
    await waitPrimary(nc, "db1");
    await waitFor(
      async () => {
        const agents = Object.values(((await status(nc)).agents ?? {}) as Record<string, unknown>);
        return agents.length === 3 && agents.every((a) => a !== null);
      },
      { timeoutMs: 30_000, message: "every agent reported" },
    );
    // Preferred and healthy: db3 is the first candidate before anything happens.
    const before = await command(nc, "switchover", { dryRun: true });
    const rankedBefore = before.ok ? (before.dryRun?.candidates ?? []) : [];
    expect(rankedBefore.find((c) => c.server === "db3")?.rank, JSON.stringify(before)).toBe(1);

    const writer = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    await writer.waitForAcks(30);
    // Written on db3 by hand, binlogged with db3's server id: errant.
    await db3.query("CREATE TABLE app.errant (i INT PRIMARY KEY) ENGINE=InnoDB");
    await db3.query("INSERT INTO app.errant VALUES (1), (2)");
    const db3Pos = (await gtidOf(db3)).binlogPos;
    expect(db3Pos).toMatch(/-3-/);

    const ev = await obs.waitFor(isEvent("ServerDiverged", "db3"), 30_000, "ServerDiverged db3");
    expect(ev.event.extraGtids).toMatch(/^0-3-\d+$/);
    expect(ev.event.reason).toMatch(/errant transactions/);
    await obs.waitFor(
      isTopology((t) => roleOf(t, "db3") === "diverged"),
      20_000,
      "db3 with role diverged",
    );
    const st = await status(nc);
    expect(Object.keys((st.diverged ?? {}) as Row)).toEqual(["db3"]);
    // Excluded, with the reason; db2 is first now. Named as a target, it is refused.
    const dry = await command(nc, "switchover", { dryRun: true });
    const ranked = dry.ok ? (dry.dryRun?.candidates ?? []) : [];
    expect(ranked.find((c) => c.server === "db3")?.reason).toMatch(
      /excluded: diverged from the primary's history \(errant transactions\)/,
    );
    expect(ranked.find((c) => c.server === "db2")?.rank).toBe(1);
    const toDb3 = await command(nc, "switchover", { target: "db3", dryRun: true });
    expect(JSON.stringify(toDb3)).toMatch(/errant transactions/);
    // (With gtid_strict_mode, as in this lab, its SQL thread soon stops on the primary's next
    // transaction: same domain, a sequence number not above its own errant one.)

    // The writer stops before the kill, and db2 first holds all db3 received. Otherwise a
    // kill the moment db3 has received a write db2 lacks is rightly refused
    // (PrimaryDeadNoCandidate: db3 may have acknowledged it alone, and cannot serve it) —
    // a CI run under load hit that race; operations.md (errant transactions) explains it.
    const acked = (await writer.stop()).acked;
    const [db3Link] = await replicaStatus(db3);
    await waitFor(
      async () =>
        gtidContains((await replicaStatus(db2))[0]?.gtidIoPos ?? "", db3Link?.gtidIoPos ?? ""),
      { timeoutMs: 10_000, message: `db2 received all db3 did (${db3Link?.gtidIoPos})` },
    );

    await db1.kill9();
    const promoted = await obs.waitFor(newPrimary("db1"), 30_000, "a new primary");
    expect(promoted.topology.primary).toBe("db2");
    expect(await findMissingIds(db2, acked)).toEqual([]);
    // Writes go on, on the new primary.
    const after = await startWriter(topologyWriter(lab, obs, "db2"), {
      intervalMs: 5,
      table: "after_failover",
    });
    await after.waitForAcks(20, 20_000);
    await after.stop();
    // The errant rows did not travel to the new primary.
    const leaked = (await db2.query(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='errant'",
    )) as Row[];
    expect(Number(leaked[0]?.n)).toBe(0);

    // The repair: a rebuild from the new primary (or a replica of it).
    const reply = await command(nc, "rebuild", { target: "db3" });
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    const end = await obs.waitFor(
      isOperation((op) => op.opId === opId && op.state !== "running"),
      120_000,
      `end of rebuild ${opId}`,
    );
    expect(end.operation.state, end.operation.message).toBe("succeeded");
    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicating" });
    await obs.waitFor(
      isTopology((t) => t.primary === "db2" && roleOf(t, "db3") === "replica"),
      30_000,
      "db3 a replica of db2 again",
    );
    const gone = (await db3.query(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='errant'",
    )) as Row[];
    expect(Number(gone[0]?.n)).toBe(0);
    expect(Object.keys(((await status(nc)).diverged ?? {}) as Row)).toEqual([]);
  });
});
