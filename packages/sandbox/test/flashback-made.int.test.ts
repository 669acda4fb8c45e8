// A made divergence, undone by command (issue 17 part 2): root writes an INSERT, an UPDATE and
// a DELETE through the fenced old primary's read_only; `cmd.flashback` (typed as a person
// would) first as a dry-run (each transaction with its verdict), refused for bad input with
// nothing done, then for real: undone, rejoined, equal to the primary. And a DDL among the
// extra transactions: not undoable — the save says why, the command is refused with the
// reason, nothing is flashed back even with failover.autoFlashback, the server stays fenced;
// with failover.autoRebuild (and agents) it is rebuilt instead, the reason saying why.
import { missingFrom, parseGtidList } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { describe, expect, it } from "vitest";
import type { Observer } from "../src/observer.js";
import type { Stack } from "../src/stack.js";
import { checksum, grantFlashback, useSavingStack } from "./flashback-helpers.js";
import {
  binlogPos,
  binlogState,
  command,
  isEvent,
  isOperation,
  newPrimary,
  opEnded,
  readOnly,
  replicating,
  status,
  waitPrimary,
} from "./scenario-helpers.js";

/** db1 dies after `setup`, a replica takes over, db1 comes back fenced (autoRejoin off). */
async function failOverAndReturn(stack: Stack, obs: Observer, table: string) {
  const { lab, nc } = stack;
  await grantFlashback(lab);
  await waitPrimary(nc, "db1");
  const db1 = lab.node("db1");
  await db1.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, note VARCHAR(64), n INT)`);
  await db1.query(`INSERT INTO ${table} VALUES (1,'one',1),(2,'two',2),(3,'three',3),(4,'four',4)`);
  const pos = await binlogPos(db1);
  for (const r of ["db2", "db3"]) {
    await lab.node(r).query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [pos]);
  }
  await db1.kill9();
  const promoted = await obs.waitFor(newPrimary("db1"), 30_000, "a new primary");
  const primary = lab.node(promoted.topology.primary!);
  await primary.query(`INSERT INTO ${table} VALUES (10,'on the new primary',10)`);
  await db1.start();
  await obs.waitFor(isEvent("OldPrimaryReturned", "db1"), 30_000, "db1 returned");
  await waitFor(() => readOnly(db1), { timeoutMs: 20_000, message: "db1 read_only=1" });
  return { db1, primary, primaryName: promoted.topology.primary! };
}

describe("a made divergence, flashed back by command", () => {
  const get = useSavingStack("fb-made", {
    lab: { semiSync: false, nodes: 3 },
    config: { failover: { autoRejoin: false } },
  });

  it("undoes an INSERT, an UPDATE and a DELETE, rejoins, and the table equals the primary's", async () => {
    const { stack, obs } = get();
    const { nc } = stack;
    const { db1, primary, primaryName } = await failOverAndReturn(stack, obs, "app.made_t");
    // root writes through read_only: the divergence.
    await db1.query("INSERT INTO app.made_t VALUES (5,'extra insert',5)");
    await db1.query("UPDATE app.made_t SET note='extra update', n=20 WHERE id=2");
    await db1.query("DELETE FROM app.made_t WHERE id=3");
    const extra = await binlogPos(db1);
    const ev = await obs.waitFor(isEvent("OldPrimaryDiverged", "db1"), 30_000, "db1 diverged");
    expect(ev.event.extraGtids).toBe(extra);
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db1"), 60_000, "BinlogsSaved");
    expect(saved.event.details).toMatchObject({ undoable: true, transactions: 3 });

    // Bad input: a clear error, nothing done.
    const bad = await command(nc, "flashback", '{"server":"db1; DROP TABLE x"}');
    expect(bad).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED", path: "server" } });
    const unknown = await command(nc, "flashback", '{"server":"db9"}');
    expect(unknown).toMatchObject({ ok: false, error: { code: "UNKNOWN_SERVER" } });
    const prim = await command(nc, "flashback", JSON.stringify({ server: primaryName }));
    expect(prim).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    const extraField = await command(nc, "flashback", '{"server":"db1","force":true}');
    expect(extraField).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    expect(obs.seen.some(isOperation((o) => o.kind === "flashback"))).toBe(false);

    // The dry-run: each extra transaction with its verdict, the plan, nothing done.
    const dry = await command(nc, "flashback", '{"server":"db1","dryRun":true}');
    if (!dry.ok) throw new Error(dry.error.message);
    const report = dry.dryRun!;
    expect(report.outcome).toBe("accepted");
    expect(report.undo?.transactions.map((t) => [t.gtid.split("-")[1], t.undoable])).toEqual([
      ["1", true],
      ["1", true],
      ["1", true],
    ]);
    expect(report.undo?.rows).toEqual({ insert: 1, update: 1, delete: 1 });
    expect(report.operation?.phases.map((p) => p.name)).toContain("flashback");
    expect(await binlogPos(db1)).toBe(extra);
    expect(obs.seen.some(isOperation((o) => o.kind === "flashback"))).toBe(false);

    const r = await command(nc, "flashback", '{"server":"db1","reason":"e2e"}');
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    const end = await obs.waitFor(opEnded(r.opId!), 120_000, "the flashback's end");
    expect(end.operation.state).toBe("succeeded");
    expect(end.operation.message).toMatch(
      /undid 3 transactions on app\.made_t \(1 insert, 1 update, 1 delete\) on db1/,
    );
    expect(end.operation.message).toContain(String(saved.event.details.path));

    await waitFor(() => replicating(db1), { timeoutMs: 30_000, message: "db1 replicates" });
    await primary.query("UPDATE app.made_t SET n=n+1");
    await db1.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [await binlogPos(primary)]);
    expect(await checksum(db1, "app.made_t")).toBe(await checksum(primary, "app.made_t"));
    const history = parseGtidList(await binlogState(primary));
    expect(missingFrom(history, parseGtidList(await binlogState(db1)))).toEqual([]);
    expect(await readOnly(db1)).toBe(true);
    expect((await status(nc)).diverged).toEqual({});
  });
});

describe("a DDL among the extra transactions", () => {
  const get = useSavingStack("fb-ddl", {
    lab: { semiSync: false, nodes: 3 },
    config: {
      failover: { autoRejoin: false, autoFlashback: true, autoRebuild: false },
    },
  });

  it("is not flashed back: the save, the dry-run and the command give the reason", async () => {
    const { stack, obs } = get();
    const { nc } = stack;
    const { db1 } = await failOverAndReturn(stack, obs, "app.ddl_t");
    await db1.query("INSERT INTO app.ddl_t VALUES (5,'extra',5)");
    await db1.query("ALTER TABLE app.ddl_t ADD COLUMN added INT");
    const extra = await binlogPos(db1);
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db1"), 60_000, "BinlogsSaved");
    expect(saved.event.extraGtids).toBe(extra);
    expect(saved.event.details.undoable).toBe(false);
    expect(String(saved.event.details.undoReason)).toMatch(
      /DDL: ALTER TABLE app\.ddl_t ADD COLUMN added INT/,
    );
    expect(saved.event.reason).toMatch(/cannot be flashed back: .*DDL/);

    const dry = await command(nc, "flashback", '{"server":"db1","dryRun":true}');
    if (!dry.ok) throw new Error(dry.error.message);
    expect(dry.dryRun).toMatchObject({ outcome: "refused", error: { code: "NOT_UNDOABLE" } });
    expect(dry.dryRun?.undo?.transactions.map((t) => t.undoable)).toEqual([true, false]);
    expect(dry.dryRun?.undo?.transactions[1]?.reason).toMatch(/DDL/);

    const r = await command(nc, "flashback", '{"server":"db1"}');
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_UNDOABLE" } });
    if (!r.ok) expect(r.error.message).toMatch(/DDL: ALTER TABLE .*rebuild it/);

    // Give autoFlashback every chance: still diverged, fenced, never flashed back.
    await new Promise((res) => setTimeout(res, 3000));
    expect(obs.seen.some(isOperation((o) => o.kind === "flashback"))).toBe(false);
    expect(await readOnly(db1)).toBe(true);
    expect(await binlogPos(db1)).toBe(extra);
    expect((await status(nc)).diverged).toEqual({ db1: extra });
  });
});

describe("a DDL among the extra transactions, with failover.autoRebuild", () => {
  const get = useSavingStack("fb-rebuild", {
    agents: true,
    lab: { semiSync: false, nodes: 3 },
    config: {
      failover: { autoRejoin: false, autoFlashback: true, autoRebuild: true },
    },
  });

  it("falls back to a rebuild, saying why it was not flashed back", async () => {
    const { stack, obs } = get();
    const { nc } = stack;
    await waitFor(
      async () => {
        const agents = Object.values(((await status(nc)).agents ?? {}) as Record<string, unknown>);
        return agents.length === 3 && agents.every((a) => a !== null);
      },
      { timeoutMs: 30_000, message: "three live agents" },
    );
    const { db1, primary } = await failOverAndReturn(stack, obs, "app.rb_t");
    await db1.query("ALTER TABLE app.rb_t ADD COLUMN added INT");
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db1"), 60_000, "BinlogsSaved");
    expect(saved.event.details.undoable).toBe(false);
    const rebuilt = await obs.waitFor(
      isOperation((o) => o.kind === "rebuild" && o.state !== "running"),
      180_000,
      "the automatic rebuild's end",
    );
    expect(rebuilt.operation.state).toBe("succeeded");
    const started = obs.seen.find(
      (o) => o.kind === "operation" && o.operation.opId === rebuilt.operation.opId,
    );
    expect(started?.kind === "operation" && started.operation.message).toMatch(
      /failover\.autoRebuild: db1 diverged .*; not flashed back: .*DDL: ALTER TABLE app\.rb_t ADD COLUMN added INT/,
    );
    expect(obs.seen.some(isOperation((o) => o.kind === "flashback"))).toBe(false);
    await waitFor(() => replicating(db1), { timeoutMs: 30_000, message: "db1 replicates" });
    await db1.query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [await binlogPos(primary)]);
    expect(await checksum(db1, "app.rb_t")).toBe(await checksum(primary, "app.rb_t"));
  });
});
