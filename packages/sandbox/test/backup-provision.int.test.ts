// backup and restore-backup of a multi-source replica end to end: db1 (p1, domain 1) and db2
// (p2, domain 2) take writes throughout; db3 is provisioned as their multi-source replica
// (filters src1.% and src2.%), backed up through its agent, left behind while the writers go
// on, then restored from that backup: both connections must come back at the backup's
// position (no duplicate-key or other SQL error; a wrong position shows as one, or as rows
// missing after catch-up) and every source table on db3 must equal its source's. Last, the
// backups are pruned to the newest one (marina backups prune).
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  type BackupManifest,
  BackupPruneResult,
  BackupManifest as ManifestSchema,
} from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSourceTables,
  type ProvisionLab,
  rows,
  StallWriter,
  startProvisionLab,
  tableFacts,
} from "./provision-helpers.js";
import { slaves, status } from "./scenario-helpers.js";

const SOURCES = [
  ["db1", "src1"],
  ["db2", "src2"],
] as const;

describe("backup and restore-backup of a multi-source replica while its sources take writes", () => {
  let lab: ProvisionLab;
  const writers: StallWriter[] = [];
  /** Every SQL error either connection of db3 showed at any check. */
  const sqlErrors = new Set<string>();

  const links = async () =>
    (await slaves(lab.node("db3")))
      .map((r) => ({
        name: String(r.Connection_name),
        io: r.Slave_IO_Running,
        sql: r.Slave_SQL_Running,
        filter: r.Replicate_Wild_Do_Table,
        port: r.Master_Port,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  const noteErrors = async () => {
    for (const r of await slaves(lab.node("db3"))) {
      if (Number(r.Last_SQL_Errno ?? 0) !== 0) {
        sqlErrors.add(
          `${String(r.Connection_name)}: ${String(r.Last_SQL_Errno)} ${String(r.Last_SQL_Error)}`,
        );
      }
    }
  };
  const expectedLinks = () => [
    { name: "p1", io: "Yes", sql: "Yes", filter: "src1.%", port: lab.node("db1").port },
    { name: "p2", io: "Yes", sql: "Yes", filter: "src2.%", port: lab.node("db2").port },
  ];
  const listBackups = async (): Promise<BackupManifest[]> => {
    const r = await lab.send("backups", { server: "db3" });
    if (!r.ok) throw new Error(`backups refused: ${r.error.code} ${r.error.message}`);
    return ((r.data?.backups as unknown[]) ?? []).map((b) => ManifestSchema.parse(b));
  };

  beforeAll(async () => {
    lab = await startProvisionLab({ backupDir: true });
    for (const [n, db] of SOURCES) await createSourceTables(lab.node(n), db, 5000);
    writers.push(
      new StallWriter(lab.node("db1"), "src1", 1_000_000),
      new StallWriter(lab.node("db2"), "src2", 1_000_000),
    );
    for (const w of writers) w.start();
    const reply = await lab.send("provision-replica", {
      target: "db3",
      sources: [
        { cluster: "p1", databases: ["src1"] },
        { cluster: "p2", databases: ["src2"] },
      ],
      overwrite: true,
    });
    if (!reply.ok) throw new Error(`provision refused: ${reply.error.message}`);
    const end = await lab.outcome(reply.opId, 180_000, "provision result");
    if (end.state !== "succeeded") throw new Error(`provision ${end.state}: ${end.message}`);
  });

  afterAll(async () => {
    for (const w of writers) await w.stop().catch(() => {});
    await lab?.close();
  });

  let taken: BackupManifest;
  /** The second backup, broken on purpose by the failure test. */
  let second: string;

  it("backs up db3: every connection and both domains in the manifest, the SQL threads started again", async () => {
    const dry = await lab.send("backup", { server: "db3", dryRun: true });
    expect(dry.ok && dry.dryRun?.outcome).toBe("accepted");
    const calls = dry.ok ? (dry.dryRun?.operation?.phases[0]?.agentCalls ?? []) : [];
    expect(calls.map((c) => c.action.action)).toEqual(["take-backup"]);
    expect(await listBackups()).toEqual([]);

    const reply = await lab.send("backup", { server: "db3" });
    expect(reply.ok).toBe(true);
    const end = await lab.outcome(reply.ok ? reply.opId : undefined, 120_000, "backup result");
    console.log(`backup: ${end.state} — ${end.message} ${JSON.stringify(end.timings)}`);
    expect(end.state).toBe("succeeded");
    expect(end.kind).toBe("backup");
    const [m] = await listBackups();
    if (!m) throw new Error("no backup listed");
    taken = m;
    expect(m.server).toBe("db3");
    expect(
      m.connections.map((c) => [c.name, c.cluster, c.source, c.wildDoTables, c.sqlRunning]),
    ).toEqual([
      ["p1", "p1", "db1", ["src1.%"], true],
      ["p2", "p2", "db2", ["src2.%"], true],
    ]);
    expect(Object.keys(m.domains).sort()).toEqual(["1", "2"]);
    expect(m.domains["1"]).toMatch(/^1-1-\d+$/);
    expect(m.domains["2"]).toMatch(/^2-2-\d+$/);
    expect(m.bytes).toBeGreaterThan(5_000_000);
    // mariadb-backup's own record agrees with the position read with the threads stopped.
    expect(m.slaveInfo).toContain(`gtid_slave_pos = '${m.gtidSlavePos}'`);
    await noteErrors();
    expect(await links()).toEqual(expectedLinks());
    for (const c of ["p1", "p2"]) {
      expect((await status(lab.stack.nc, c)).maintenance).not.toContain("db3");
    }

    // A second backup never writes over the first: a new id, newest first.
    const again = await lab.send("backup", { server: "db3" });
    const end2 = await lab.outcome(again.ok ? again.opId : undefined, 120_000, "second backup");
    expect(end2.state).toBe("succeeded");
    const ids = (await listBackups()).map((b) => b.id);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(taken.id);
    expect(ids[0]! > taken.id).toBe(true);
    second = ids[0]!;

    // What an operator sees: `marina backups`, as a table and as JSON.
    const cli = resolve(import.meta.dirname, "../../cli/dist/main.js");
    const env = { PATH: process.env.PATH ?? "", MARINA_NATS: lab.stack.lab.natsUrls.join(",") };
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, "-c", "p1", ...args], { env });
    const table = (await run("backups", "db3")).stdout;
    console.log(table);
    expect(table).toMatch(
      new RegExp(`db3\\s+${second}\\s.*'p1'←p1\\(db1\\) src1\\.% 'p2'←p2\\(db2\\) src2\\.%`),
    );
    expect(table.indexOf(second)).toBeLessThan(table.indexOf(taken.id));
    const json = JSON.parse((await run("backups", "--json")).stdout) as {
      backups: BackupManifest[];
    };
    expect(json.backups.map((b) => b.id)).toEqual([second, taken.id]);
  });

  it("10.11: mariadb-backup --safe-slave-backup stops no SQL thread of a replica with named connections only", async () => {
    // Why take-backup stops every SQL thread itself (docs/operations.md).
    const db3 = lab.node("db3");
    const target = join(lab.stack.lab.dir, "safe-slave-backup-probe");
    const seen = new Set<string>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        for (const r of await slaves(db3))
          seen.add(`${String(r.Connection_name)}:${String(r.Slave_SQL_Running)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const { stderr } = await promisify(execFile)(
      "mariadb-backup",
      [
        `--defaults-file=${db3.defaultsFile}`,
        "--backup",
        "--slave-info",
        "--safe-slave-backup",
        `--target-dir=${target}`,
        "--user=root",
        `--socket=${db3.socket}`,
      ],
      { maxBuffer: 64 << 20 },
    );
    polling = false;
    await poll;
    await rm(target, { recursive: true, force: true });
    console.log(
      `SQL threads seen during a --safe-slave-backup backup: ${[...seen].sort().join(" ")}`,
    );
    expect(stderr).toMatch(
      /Not checking slave open temp tables for --safe-slave-backup because host is not a slave/,
    );
    expect([...seen].sort()).toEqual(["p1:Yes", "p2:Yes"]);
  });

  it("refuses a restore from a backup that does not exist, and a malformed id, changing nothing", async () => {
    const missing = await lab.send("restore-backup", { server: "db3", backup: "20000101T000000Z" });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.code).toBe("BACKUP_NOT_FOUND");
    const bad = await lab.send("restore-backup", { server: "db3", backup: "../etc" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe("VALIDATION_FAILED");
      expect(bad.error.path).toBe("backup");
    }
    expect(await links()).toEqual(expectedLinks());
  });

  it("a restore that fails part-way leaves db3 stopped and in maintenance, saying what was done; the next restore clears it", async () => {
    // Without its checkpoints file, mariadb-backup --prepare refuses the copy.
    await rm(join(lab.stack.lab.dir, "backups", "db3", second, "data", "xtrabackup_checkpoints"));
    const reply = await lab.send("restore-backup", { server: "db3", backup: second });
    expect(reply.ok).toBe(true);
    const end = await lab.outcome(reply.ok ? reply.opId : undefined, 120_000, "failed restore");
    console.log(`broken restore: [${end.phase}] ${end.message}`);
    expect(end.state).toBe("failed");
    expect(end.phase).toBe("restore");
    expect(end.message).toMatch(/\(the agent at prepare\)/);
    expect(end.message).toMatch(/done: db3 in maintenance in p1, p2/);
    expect(end.message).toMatch(/left stopped \(.*unfinished restore.*\), in maintenance/);
    expect(lab.node("db3").isRunning()).toBe(false);
    for (const c of ["p1", "p2"]) {
      expect((await status(lab.stack.nc, c)).maintenance).toContain("db3");
    }
  });

  it("restores db3 from the first backup while the writers go on: both connections resume at its position, the tables match", async () => {
    // The sources move on past the backup.
    const [w1, w2] = writers;
    const before = [w1!.writes, w2!.writes];
    await waitFor(async () => w1!.writes > before[0]! + 200 && w2!.writes > before[1]! + 200, {
      timeoutMs: 30_000,
      message: "writers moved on past the backup",
    });

    const dry = await lab.send("restore-backup", { server: "db3", backup: taken.id, dryRun: true });
    expect(dry.ok && dry.dryRun?.outcome).toBe("accepted");
    const phases = dry.ok ? (dry.dryRun?.operation?.phases ?? []) : [];
    expect(phases.map((p) => p.name)).toEqual(["restore", "attach"]);
    expect(phases[1]!.steps.map((s) => s.key)).toEqual([
      "ro",
      "reset-default",
      "reset-p1",
      "reset-p2",
      "pos",
      "change-p1",
      "filter-p1",
      "change-p2",
      "filter-p2",
      "start-p1",
      "verify-p1",
      "start-p2",
      "verify-p2",
    ]);

    const reply = await lab.send("restore-backup", { server: "db3", backup: taken.id });
    expect(reply.ok).toBe(true);
    const opId = reply.ok ? reply.opId : undefined;
    const end = await lab.outcome(opId, 180_000, "restore result");
    const events = lab.p1.operations().filter((o) => o.opId === opId);
    console.log(
      `restore ${opId}: ${end.state} — ${end.message}\n${events.map((e) => `  [${e.phase}] ${e.message}`).join("\n")}\n  timings ${JSON.stringify(end.timings)}`,
    );
    expect(end.state).toBe("succeeded");
    expect(end.message).toContain(`at ${taken.gtidSlavePos}`);
    // The filters set again are persisted for a restart (the agent's option file).
    expect(end.message).toMatch(/filters of db3 written to .*marina-replication-filters\.cnf/);
    for (const c of ["p1", "p2"]) {
      expect((await status(lab.stack.nc, c)).maintenance).not.toContain("db3");
    }
    const [ro] = await rows(lab.node("db3"), "SELECT @@read_only AS ro");
    expect(Number(ro?.ro)).toBe(1);
    await noteErrors();
    expect(await links()).toEqual(expectedLinks());

    // Writes go on a little after the restore, then stop: db3 must catch up exactly.
    await new Promise((r) => setTimeout(r, 2000));
    await noteErrors();
    for (const w of writers) await w.stop();
    expect(writers.flatMap((w) => w.errors)).toEqual([]);
    for (const [n, db] of SOURCES) {
      const want = await tableFacts(lab.node(n), db);
      await waitFor(
        async () => {
          await noteErrors();
          return JSON.stringify(await tableFacts(lab.node("db3"), db)) === JSON.stringify(want);
        },
        { timeoutMs: 60_000, message: `${db} on db3 equal to its source after the restore` },
      );
      expect(await tableFacts(lab.node("db3"), db)).toEqual(want);
    }
    await noteErrors();
    expect([...sqlErrors]).toEqual([]);
    expect(await links()).toEqual(expectedLinks());
    const [pos] = await rows(lab.node("db3"), "SELECT @@gtid_slave_pos AS p");
    const domains = String(pos?.p)
      .split(",")
      .map((g) => Number(g.split("-")[0]));
    expect(new Set(domains)).toEqual(new Set([1, 2]));
  });

  it("prunes db3's backups to the newest one: a dry-run changes nothing, then the older ones and a leftover go, a symlink stays", async () => {
    // A third backup (the two above: the first, restored from, and the broken second).
    const third = await lab.send("backup", { server: "db3" });
    const end3 = await lab.outcome(third.ok ? third.opId : undefined, 120_000, "third backup");
    expect(end3.state).toBe("succeeded");
    const before = (await listBackups()).map((b) => b.id);
    expect(before).toHaveLength(3);
    const [newest] = before;
    // What an agent that died mid-backup leaves (no manifest), and a symlink named like a
    // backup pointing outside the backup directory: the first goes, the second stays.
    const root = join(lab.stack.lab.dir, "backups", "db3");
    const leftover = "20000101T000000Z";
    const linked = "20000102T000000Z";
    const outside = join(lab.stack.lab.dir, "not-a-backup");
    await mkdir(join(root, leftover, "data"), { recursive: true });
    await writeFile(join(root, leftover, "data", "ibdata1"), "x".repeat(4096));
    await mkdir(outside);
    await writeFile(join(outside, "precious"), "keep me");
    await symlink(outside, join(root, linked));
    const onDisk = async () => (await readdir(root)).sort();
    const all = await onDisk();

    const dry = await lab.send("prune-backups", { server: "db3", keep: 1, dryRun: true });
    expect(dry.ok && dry.dryRun?.outcome).toBe("accepted");
    const would = dry.ok ? BackupPruneResult.parse(dry.data) : undefined;
    expect(would?.deleted.map((d) => d.id)).toEqual([before[1], before[2], leftover]);
    expect(would?.kept.map((d) => d.id)).toEqual([newest]);
    expect(would?.skipped.map((d) => d.id)).toEqual([linked]);
    expect(would?.bytesFreed).toBeGreaterThan(10_000_000);
    expect(await onDisk()).toEqual(all);

    // What an operator sees: the dry-run's table.
    const cli = resolve(import.meta.dirname, "../../cli/dist/main.js");
    const env = { PATH: process.env.PATH ?? "", MARINA_NATS: lab.stack.lab.natsUrls.join(",") };
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, "-c", "p1", ...args], { env });
    const table = (await run("backups", "prune", "db3", "--keep", "1", "--dry-run")).stdout;
    console.log(table);
    expect(table).toMatch(new RegExp(`would delete\\s+${before[1]}\\s+yes`));
    expect(table).toMatch(new RegExp(`would delete\\s+${leftover}\\s+no`));
    expect(table).toMatch(new RegExp(`keep\\s+${newest}\\s+yes`));
    expect(table).toMatch(new RegExp(`leave alone\\s+${linked}`));
    expect(await onDisk()).toEqual(all);

    const reply = await lab.send("prune-backups", { server: "db3", keep: 1 });
    expect(reply.ok).toBe(true);
    const end = await lab.outcome(reply.ok ? reply.opId : undefined, 60_000, "prune result");
    console.log(`prune: ${end.state} — ${end.message}`);
    expect(end.kind).toBe("prune");
    expect(end.state).toBe("succeeded");
    expect(await onDisk()).toEqual([linked, newest!].sort());
    expect(await readFile(join(outside, "precious"), "utf8")).toBe("keep me");
    expect((await listBackups()).map((b) => b.id)).toEqual([newest]);
    const pruned = lab.p1
      .events()
      .filter((e) => e.situation === "BackupsPruned" && e.server === "db3");
    expect(pruned.map((e) => e.details.deleted)).toEqual([
      [before[1], before[2], leftover].join(","),
    ]);
    expect((await run("backups", "db3")).stdout).not.toMatch(before[2]!);

    // Nothing more to delete; the newest complete backup is never deleted. The CLI follows
    // the operation to its end (exit 0).
    const again = await lab.send("prune-backups", { server: "db3", keep: 1, dryRun: true });
    expect(again.ok && BackupPruneResult.parse(again.data).deleted).toEqual([]);
    const real = (await run("backups", "prune", "db3", "--keep", "1")).stdout;
    console.log(real);
    expect(real).toMatch(new RegExp(`keep\\s+${newest}\\s+yes`));
    expect(real).toMatch(/frees 0\.0 MB on db3's host/);
    expect(real).toMatch(/deleted 0 backup\(s\) of db3/);
    expect(await onDisk()).toEqual([linked, newest!].sort());
  });
});
