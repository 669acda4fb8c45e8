import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TOOL_PATHS, DUMP_POSITION_COMMENT, type Invocation } from "@marina/hostops";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replicationFiltersCnf, writeReplicationFilters } from "../src/host/replication-filters.js";
import { LineScan } from "../src/proc/line-scan.js";
import { Pipeline } from "../src/proc/pipeline.js";

// A dump's position read as it streams by (the add of a multi-source source), and the
// option file of persisted per-connection filters.

const socat = (...args: string[]): Invocation => ({ program: "socat", args, privileged: false });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-line-scan-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The end of a 10.11 `--gtid --master-data=2` dump (its position comes after the data). */
const TAIL = [
  "-- The deferred gtid setting for slave corresponding to the master-data CHANGE-MASTER follows",
  "",
  "-- Preferably use GTID to start replication from GTID position:",
  "",
  "-- SET GLOBAL gtid_slave_pos='1-1-5,3-5-1238';",
  "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;",
  "",
].join("\n");

async function scanned(chunks: Buffer[]): Promise<string | undefined> {
  const scan = new LineScan(DUMP_POSITION_COMMENT);
  scan.resume();
  for (const c of chunks) scan.write(c);
  scan.end();
  await new Promise((r) => scan.on("end", r));
  return scan.match;
}

describe("LineScan", () => {
  const text = Buffer.from(
    `CREATE TABLE t (i INT);\nINSERT INTO t VALUES ${"(1),".repeat(5000)}(2);\n${TAIL}`,
  );
  it.each([1, 7, 64, 4096, text.length])(
    "finds the position split in chunks of %i bytes",
    async (n) => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += n) chunks.push(text.subarray(i, i + n));
      expect(await scanned(chunks)).toBe("1-1-5,3-5-1238");
    },
  );

  it("keeps the last position line: a routine's body that holds a fake one comes before the real one", async () => {
    const fake = [
      "DELIMITER ;;",
      "CREATE PROCEDURE p() BEGIN",
      "-- SET GLOBAL gtid_slave_pos='9-9-999';",
      "SELECT 1; END ;;",
      "DELIMITER ;",
      "",
    ].join("\n");
    const body = Buffer.from(`CREATE TABLE t (i INT);\n${fake}${TAIL}`);
    const halves = [body.subarray(0, 50), body.subarray(50)];
    expect(await scanned(halves)).toBe("1-1-5,3-5-1238");
  });

  it.each([
    ["the set statement (master-data=1)", "SET GLOBAL gtid_slave_pos='1-1-5';\n"],
    ["a long line that holds it", `-- ${"x".repeat(2000)} -- SET GLOBAL gtid_slave_pos='1-1-5';\n`],
    ["a truncated dump", "INSERT INTO t VALUES (1);\n-- SET GLOBAL gtid_sl"],
  ])("finds nothing in %s", async (_what, body) => {
    expect(await scanned([Buffer.from(body)])).toBeUndefined();
  });
});

describe("a pipeline stage whose output is scanned", () => {
  it("passes the bytes on unchanged and keeps the position line", async () => {
    const src = join(dir, "dump.sql");
    const out = join(dir, "out.sql");
    const data = Buffer.concat([randomBytes(2 << 20), Buffer.from(`\n${TAIL}`)]);
    await writeFile(src, data);
    const p = await Pipeline.start(
      [
        { inv: socat("-u", `OPEN:${src}`, "-"), scan: DUMP_POSITION_COMMENT },
        { inv: socat("-u", "-", `CREATE:${out}`) },
      ],
      { paths: DEFAULT_TOOL_PATHS },
    );
    const r = await p.done;
    expect(r.ok, r.failure).toBe(true);
    expect((await readFile(out)).equals(data)).toBe(true);
    expect(p.scanned(0)).toBe("1-1-5,3-5-1238");
  });
});

describe("replicationFiltersCnf", () => {
  it("writes one prefixed line per pattern of each filtered named connection, backslashes doubled", () => {
    expect(
      replicationFiltersCnf([
        { connection: "", wildDoTable: "x.%" },
        { connection: "p1", wildDoTable: "src1.%,my\\_db.%" },
        { connection: "p2", wildDoTable: "" },
      ]),
    ).toBe(
      "# Written by the Marina agent (persist-replication-filters): every change is overwritten.\n[mysqld]\np1.replicate_wild_do_table = src1.%\np1.replicate_wild_do_table = my\\\\_db.%\n",
    );
  });

  it.each([
    ["a comment character", { connection: "p1", wildDoTable: "a.%#x" }],
    ["a newline", { connection: "p1", wildDoTable: "a.%\nsuper_read_only=0" }],
    ["a connection name with a dot", { connection: "p.1", wildDoTable: "a.%" }],
  ])("refuses %s", (_what, f) => {
    expect(() => replicationFiltersCnf([f])).toThrow(/cannot be written to an option file/);
  });
});

describe("writeReplicationFilters", () => {
  it("replaces the file whole and leaves no temp file; two writers at once each use their own", async () => {
    const file = join(dir, "filters.cnf");
    await writeFile(file, "old\n");
    await Promise.all([
      writeReplicationFilters(file, "[mysqld]\na\n"),
      writeReplicationFilters(file, "[mysqld]\na\n"),
    ]);
    expect(await readFile(file, "utf8")).toBe("[mysqld]\na\n");
    expect((await readdir(dir)).filter((f) => f.includes("marina-tmp"))).toEqual([]);
  });
});
