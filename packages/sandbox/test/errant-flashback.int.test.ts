// An errant replica repaired by flashback (issue 17 part 3): root writes rows on a replica
// (an INSERT, an UPDATE, a DELETE); Marina flags it ServerDiverged and saves them;
// `cmd.flashback` undoes them and the replica replicates again, equal to the primary.
import { waitFor } from "@marina/lab";
import { describe, expect, it } from "vitest";
import { checksum, grantFlashback, useSavingStack } from "./flashback-helpers.js";
import {
  binlogPos,
  binlogState,
  command,
  isEvent,
  opEnded,
  replicating,
  status,
  waitPrimary,
} from "./scenario-helpers.js";

describe("an errant replica, flashed back", () => {
  const get = useSavingStack("fb-errant", { lab: { semiSync: false, nodes: 3 } });

  it("undoes the errant rows and replicates again, equal to the primary", async () => {
    const { stack, obs } = get();
    const { lab, nc } = stack;
    await grantFlashback(lab);
    await waitPrimary(nc, "db1");
    const [db1, db3] = [lab.node("db1"), lab.node("db3")];
    await db1.query("CREATE TABLE app.err_t (id INT PRIMARY KEY, note VARCHAR(64), n INT)");
    await db1.query("INSERT INTO app.err_t VALUES (1,'one',1),(2,'two',2),(3,'three',3)");
    await db3.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [await binlogPos(db1)]);
    // Written by hand on the replica (root passes read_only): errant transactions.
    await db3.query("INSERT INTO app.err_t VALUES (5,'errant insert',5)");
    await db3.query("UPDATE app.err_t SET note='errant update' WHERE id=2");
    await db3.query("DELETE FROM app.err_t WHERE id=3");
    const ev = await obs.waitFor(isEvent("ServerDiverged", "db3"), 30_000, "db3 diverged");
    expect(ev.event.reason).toMatch(/errant transactions/);
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db3"), 60_000, "BinlogsSaved db3");
    // Saved from db3's first file (the primary has nothing of server 3): the primary's
    // transactions there too; only db3's own three are to be undone.
    expect(saved.event.details).toMatchObject({ undoable: true });
    expect(saved.event.reason).toMatch(
      /can be flashed back \(3 transaction\(s\), 1 insert\(s\), 1 update\(s\), 1 delete\(s\)\)/,
    );
    // Flagged once a later primary sample confirms it.
    await waitFor(async () => Object.keys((await status(nc)).diverged ?? {}).includes("db3"), {
      timeoutMs: 20_000,
      message: "db3 flagged diverged",
    });

    const dry = await command(nc, "flashback", '{"server":"db3","dryRun":true}');
    expect(dry.ok && dry.dryRun?.outcome, JSON.stringify(dry)).toBe("accepted");
    expect(dry.ok && dry.dryRun?.undo?.rows).toEqual({ insert: 1, update: 1, delete: 1 });
    const r = await command(nc, "flashback", '{"server":"db3"}');
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    const end = await obs.waitFor(opEnded(r.opId!), 120_000, "the flashback's end");
    expect(end.operation.state, end.operation.message).toBe("succeeded");
    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicates" });
    await db1.query("UPDATE app.err_t SET n=n+1");
    await db3.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [await binlogPos(db1)]);
    expect(await checksum(db3, "app.err_t")).toBe(await checksum(db1, "app.err_t"));
    expect((await status(nc)).diverged).toEqual({});
    // Its own GTID state is the primary's: no GTID of server 3 left anywhere.
    expect(await binlogState(db3)).toBe(await binlogState(db1));
    const [g] = await db3.query<Array<{ c: string }>>("SELECT @@gtid_current_pos AS c");
    expect(g?.c).toBe(await binlogPos(db1));
  });
});

describe("an errant replica whose first errant transaction's binlog was purged", () => {
  const get = useSavingStack("fb-errant-purged", { lab: { semiSync: false, nodes: 3 } });

  it("is not flashed back: the save says a binlog holding extra transactions was purged", async () => {
    const { stack, obs } = get();
    const { lab, nc } = stack;
    await grantFlashback(lab);
    await waitPrimary(nc, "db1");
    const [db1, db3] = [lab.node("db1"), lab.node("db3")];
    await db1.query("CREATE TABLE app.err_p (id INT PRIMARY KEY, n INT)");
    await db1.query("INSERT INTO app.err_p VALUES (1,1),(2,2)");
    await db3.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [await binlogPos(db1)]);
    // The first errant write lands in a file that is then purged; the second in the next.
    await db3.query("INSERT INTO app.err_p VALUES (5,5)");
    const first = await binlogPos(db3);
    // Its save reads the file: purged only after it (a file in use is not purged).
    await obs.waitFor(
      isEvent("BinlogsSaved", "db3", (e) => e.extraGtids === first),
      60_000,
      `BinlogsSaved db3 for ${first}`,
    );
    await db3.query("FLUSH BINARY LOGS");
    const [now] = await db3.query<Array<{ File: string }>>("SHOW MASTER STATUS");
    // A dump thread of the save may hold the old file for a moment ("in use": not purged).
    await waitFor(
      async () => {
        await db3.query(`PURGE BINARY LOGS TO '${now!.File}'`);
        const left = await db3.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
        return left.length === 1 && left[0]!.Log_name === now!.File;
      },
      { timeoutMs: 20_000, message: `db3's binlogs purged up to ${now!.File}` },
    );
    await db3.query("UPDATE app.err_p SET n=20 WHERE id=2");
    const extra = await binlogPos(db3);
    // (The first errant write may have been saved already: the save of both is the one.)
    const saved = await obs.waitFor(
      isEvent("BinlogsSaved", "db3", (e) => e.extraGtids === extra),
      60_000,
      `BinlogsSaved db3 for ${extra}`,
    );
    expect(saved.event.details).toMatchObject({ undoable: false });
    expect(String(saved.event.details.undoReason)).toMatch(
      /a binlog holding extra transactions was purged/,
    );
    await waitFor(async () => Object.keys((await status(nc)).diverged ?? {}).includes("db3"), {
      timeoutMs: 20_000,
      message: "db3 flagged diverged",
    });
    const r = await command(nc, "flashback", '{"server":"db3"}');
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_UNDOABLE" } });
  });
});
