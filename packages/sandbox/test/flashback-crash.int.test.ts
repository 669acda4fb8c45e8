// The real divergence, undone (issue 17 part 2): under semi-sync AFTER_SYNC the primary is
// killed while a commit waits for its acknowledgement — made deterministic by stopping the
// replicas' IO threads first, so the commit reaches the primary's binlog only. Marina fails
// over; the old primary restarts, crash recovery commits the binlogged transaction (the
// divergence), Marina flags it OldPrimaryDiverged, saves the extra transaction, and with
// failover.autoFlashback undoes it, rejoins the server and compares the table with the new
// primary's. Afterwards: the same rows, no extra GTID, replication running with strict mode.
import { readdir } from "node:fs/promises";
import { missingFrom, parseGtidList } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { describe, expect, it } from "vitest";
import { checksum, grantFlashback, useSavingStack } from "./flashback-helpers.js";
import {
  binlogPos,
  binlogState,
  isEvent,
  isOperation,
  newPrimary,
  readOnly,
  replicating,
  waitPrimary,
} from "./scenario-helpers.js";

describe("a primary killed mid-commit under semi-sync AFTER_SYNC, flashed back", () => {
  const get = useSavingStack("fb-crash", {
    // A long semi-sync timeout: the commit waits for an ack until the kill.
    lab: { semiSync: true, nodes: 3, semiSyncMasterTimeoutMs: 120_000 },
    config: { failover: { autoFlashback: true } },
  });

  it("is saved, flashed back, rejoined, equal to the new primary, with a clean GTID state", async () => {
    const { stack, obs, saveDir } = get();
    const { lab, nc } = stack;
    await grantFlashback(lab);
    await waitPrimary(nc, "db1");
    const db1 = lab.node("db1");
    await db1.query("CREATE TABLE app.crash_t (id INT PRIMARY KEY, note VARCHAR(64))");
    await db1.query("INSERT INTO app.crash_t VALUES (1, 'acknowledged'), (2, 'acknowledged')");
    const pos = await binlogPos(db1);
    for (const r of ["db2", "db3"]) {
      await lab.node(r).query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [pos]);
    }

    // From here no replica receives anything: the next commit waits for an ack for ever.
    for (const r of ["db2", "db3"]) await lab.node(r).query("STOP SLAVE IO_THREAD");
    const app = await db1.connect({ user: "app", via: "tcp", socketTimeoutMs: 0 });
    app.on("error", () => {});
    const inFlight = app
      .query("INSERT INTO app.crash_t VALUES (3, 'in-flight: binlogged, never acknowledged')")
      .then(
        () => "answered",
        () => "lost",
      );
    // AFTER_SYNC: in the binlog (synced) before it waits for the acknowledgement.
    await waitFor(async () => (await binlogPos(db1)) !== pos, {
      timeoutMs: 10_000,
      message: "the in-flight commit in db1's binlog",
    });
    // …and it waits for that acknowledgement (the session enters the wait just after).
    const waiting = async () => {
      const [w] = await db1.query<Array<{ v: string }>>(
        "SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_WAIT_SESSIONS'",
      );
      return Number(w?.v) === 1;
    };
    await waitFor(waiting, { timeoutMs: 10_000, message: "the commit waiting for an ack" });
    const extra = await binlogPos(db1);
    await db1.kill9();
    // The client never heard OK.
    expect(await inFlight).toBe("lost");
    await app.end().catch(() => {});

    const promoted = await obs.waitFor(newPrimary("db1"), 60_000, "a new primary");
    const primaryName = promoted.topology.primary!;
    const primary = lab.node(primaryName);
    await primary.query("INSERT INTO app.crash_t VALUES (10, 'written on the new primary')");

    await db1.start();
    const diverged = await obs.waitFor(
      isEvent("OldPrimaryDiverged", "db1"),
      30_000,
      "OldPrimaryDiverged for db1",
    );
    // Crash recovery committed the binlogged transaction: db1 has it, the new primary not.
    expect(diverged.event.extraGtids).toBe(extra);
    expect((await db1.query<unknown[]>("SELECT id FROM app.crash_t WHERE id = 3")).length).toBe(1);
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db1"), 60_000, "BinlogsSaved");
    expect(saved.event.details).toMatchObject({ undoable: true, transactions: 1 });
    expect(String(saved.event.reason)).toMatch(/can be flashed back \(1 transaction/);

    const done = await obs.waitFor(
      isOperation((o) => o.kind === "flashback" && o.state !== "running"),
      120_000,
      "the flashback's end",
    );
    expect(done.operation.state).toBe("succeeded");
    const started = obs.seen.find(
      (o) => o.kind === "operation" && o.operation.opId === done.operation.opId,
    );
    expect(started?.kind === "operation" && started.operation.message).toMatch(
      /failover.autoFlashback: db1 diverged/,
    );
    // What was undone, and where the save is.
    expect(done.operation.message).toMatch(
      new RegExp(
        `undid 1 transaction on app\\.crash_t \\(1 insert, 0 updates, 0 deletes\\) on db1: GTIDs ${extra}`,
      ),
    );
    expect(done.operation.message).toContain(`the save in ${String(saved.event.details.path)}`);
    expect(done.operation.message).toMatch(/app\.crash_t equal to db\d's at/);
    // The save (and the flashback's own folder) stay.
    expect((await readdir(saveDir)).length).toBe(2);

    // db1: a replica of the new primary, read-only, strict mode on, no extra GTID.
    await waitFor(() => replicating(db1), { timeoutMs: 30_000, message: "db1 replicates" });
    expect(await readOnly(db1)).toBe(true);
    const [strict] = await db1.query<Array<{ m: number }>>("SELECT @@gtid_strict_mode AS m");
    expect(Number(strict?.m)).toBe(1);
    await primary.query("INSERT INTO app.crash_t VALUES (11, 'after the rejoin')");
    const now = await binlogPos(primary);
    await db1.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [now]);
    const history = parseGtidList(await binlogState(primary));
    expect(missingFrom(history, parseGtidList(await binlogPos(db1)))).toEqual([]);
    expect(missingFrom(history, parseGtidList(await binlogState(db1)))).toEqual([]);
    expect((await db1.query<unknown[]>("SELECT id FROM app.crash_t WHERE id = 3")).length).toBe(0);
    expect(await checksum(db1, "app.crash_t")).toBe(await checksum(primary, "app.crash_t"));
    // Marina no longer sees it diverged.
    await obs.waitFor(
      (o) =>
        o.kind === "topology" &&
        o.topology.servers.some((s) => s.name === "db1" && s.role === "replica"),
      30_000,
      "db1 a replica in the topology",
    );
  });
});
