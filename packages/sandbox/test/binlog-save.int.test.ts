// A diverged old primary's extra transactions are saved by an executor, raw and decoded,
// into clusters[].saveBinlogs.dir, and the BinlogsSaved event lists them; a second save
// makes a new folder and leaves the first as it was. Lab: 3 nodes, no semi-sync,
// autoRejoin off so the fenced old primary waits; root then writes through its read_only —
// the divergence.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BinlogSaveOutcome,
  ExecResultMessage,
  envelope,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  binlogPos,
  isEvent,
  isTopology,
  newPrimary,
  readOnly,
  roleOf,
  waitPrimary,
} from "./scenario-helpers.js";

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) {
    out[f] = createHash("sha256")
      .update(await readFile(join(dir, f)))
      .digest("hex");
  }
  return out;
}

describe("saving a diverged server's extra transactions", () => {
  let stack: Stack;
  let obs: Observer;
  let saveDir: string;

  beforeAll(async () => {
    saveDir = join(await mkdtemp(join(tmpdir(), "marina-bsave-")), "saved");
    stack = await startStack({
      lab: { semiSync: false, nodes: 3 },
      config: { failover: { autoRejoin: false }, saveBinlogs: { dir: saveDir } },
    });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
    if (saveDir) await rm(join(saveDir, ".."), { recursive: true, force: true });
  });

  it("saves them raw and decoded, lists them in BinlogsSaved, and never overwrites a save", async () => {
    const { lab, nc } = stack;
    // docs/security.md: the executors' account needs these where saveBinlogs is set.
    for (const n of lab.nodes) {
      await n.query("SET SESSION sql_log_bin=0");
      await n.query(
        `GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${lab.credentials.marina.user}'@'%'`,
      );
      await n.query("SET SESSION sql_log_bin=1");
    }
    await waitPrimary(nc, "db1");
    const db1 = lab.node("db1");
    await db1.query(
      "CREATE TABLE IF NOT EXISTS app.saved_t (id INT PRIMARY KEY, note VARCHAR(64))",
    );
    await db1.query("INSERT INTO app.saved_t VALUES (1, 'before-the-fork')");
    // Replicated everywhere before db1 dies.
    const pos = await binlogPos(db1);
    for (const r of ["db2", "db3"]) {
      await lab.node(r).query("SELECT MASTER_GTID_WAIT(?, 20) AS w", [pos]);
    }
    await db1.query("FLUSH BINARY LOGS");
    await db1.kill9();
    const promoted = await obs.waitFor(newPrimary("db1"), 30_000, "a new primary");
    const primaryName = promoted.topology.primary!;

    await db1.start();
    await obs.waitFor(isEvent("OldPrimaryReturned", "db1"), 30_000, "db1 returned");
    // Fenced first (its clients killed), then written to.
    await waitFor(() => readOnly(db1), { timeoutMs: 20_000, message: "db1 read_only=1" });
    // root writes through read_only: db1 now has what the new primary lacks.
    await db1.query("FLUSH BINARY LOGS");
    await db1.query("INSERT INTO app.saved_t VALUES (2, 'extra-after-the-fork')");
    await db1.query("INSERT INTO app.saved_t VALUES (3, 'extra-after-the-fork-too')");
    const extra = await binlogPos(db1);

    const ev = await obs.waitFor(isEvent("OldPrimaryDiverged", "db1"), 30_000, "db1 diverged");
    expect(ev.event.extraGtids).toBe(extra);
    await obs.waitFor(
      isTopology((t) => roleOf(t, "db1") === "diverged"),
      20_000,
      "db1 diverged role",
    );
    const saved = await obs.waitFor(isEvent("BinlogsSaved", "db1"), 60_000, "BinlogsSaved for db1");
    const d = saved.event.details;
    expect(saved.event.extraGtids).toBe(extra);
    const path = String(d.path);
    expect(path.startsWith(`${saveDir}/main-db1-`)).toBe(true);
    const files = String(d.files).split(",");
    const sizes = String(d.sizes).split(",").map(Number);
    expect(files.length).toBeGreaterThan(0);
    expect(files.length).toBe(sizes.length);
    for (const [i, f] of files.entries()) {
      expect((await stat(join(path, f))).size).toBe(sizes[i]);
    }
    // Only the files from the one holding the fork: db1's first binlog is not among them.
    const [first] = await db1.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    expect(files).not.toContain(first!.Log_name);
    expect(d.decodedFrom).toBe("fork");
    // The two rows written after the fork, as GTIDs: the last is the extra one reported.
    expect(d.transactions).toBe(2);
    expect(d.lastGtids).toBe(extra);
    const sql = await readFile(join(path, String(d.decoded)), "utf8");
    expect(sql).toContain("extra-after-the-fork");
    expect(sql).toContain("extra-after-the-fork-too");
    // --verbose: the row events as pseudo-SQL too.
    expect(sql).toContain("### INSERT INTO `app`.`saved_t`");
    // Decoded from the fork point: what the new primary has too is not in the text.
    expect(sql).not.toContain("before-the-fork'");
    expect((await stat(join(path, String(d.decoded)))).size).toBe(d.decodedBytes);
    // The new primary lacks them; db1 stays out of the topology.
    const primary = lab.node(primaryName);
    const rows = await primary.query<unknown[]>("SELECT id FROM app.saved_t WHERE id >= 2");
    expect(rows).toEqual([]);

    // A second save (as the decider sends it, with the leader's epoch): a new folder, and
    // the first one's files unchanged.
    const before = await digest(path);
    const opId = "second-save";
    const request = envelope("exec-request", "test", {
      cluster: "main",
      server: "db1",
      opId,
      stepId: `${opId}-save`,
      epoch: saved.event.epoch,
      step: {
        kind: "save-binlogs",
        extraGtids: extra,
        forkPoint: String(d.startPosition),
        timeoutMs: 60_000,
      },
    });
    const msg = await nc.request(subjects.exec("main"), JSON.stringify(request), {
      timeout: 70_000,
    });
    const reply = parseMessage(ExecResultMessage, msg.data);
    if (!reply.ok) throw new Error(reply.error.message);
    expect(reply.value.payload.error).toBeNull();
    const second = BinlogSaveOutcome.parse(reply.value.payload.data);
    expect(second.path).not.toBe(path);
    expect(second.path.startsWith(`${saveDir}/main-db1-`)).toBe(true);
    expect(await digest(path)).toEqual(before);
    expect((await readdir(saveDir)).length).toBe(2);
    // Nothing secret was left behind: the option file lived in a temp dir that is gone.
    expect((await readdir(tmpdir())).filter((f) => f.startsWith("marina-binlog-"))).toEqual([]);
  });
});
