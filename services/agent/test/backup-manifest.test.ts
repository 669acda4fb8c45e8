// Kept backups' pure parts (backup/manifest.ts) and the listing of a backup directory: ids
// that never reuse an earlier backup's, each connection's source cluster from its host and
// port, positions per domain, the cross-check with xtrabackup_slave_info, and manifests read
// back (invalid ones and directories without one skipped, newest first, one by id).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackupManifest } from "@marina/contracts";
import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backupIdAt,
  connectionsOf,
  domainsOf,
  freshBackupId,
  samePosition,
  slaveInfoPosition,
  sourceOf,
} from "../src/backup/manifest.js";
import type { AgentServerConfig } from "../src/config.js";
import type { OpContext } from "../src/ops/context.js";
import { listBackups } from "../src/ops/take-backup.js";

const SOURCES = [
  { cluster: "p1", server: "db1", host: "10.0.0.1", port: 3306 },
  { cluster: "p1", server: "db4", host: "10.0.0.4", port: 3306 },
  { cluster: "p2", server: "db2", host: "10.0.0.2", port: 3306 },
  { cluster: "p2", server: "db4", host: "10.0.0.4", port: 3306 },
];

describe("backup ids", () => {
  const at = new Date("2026-12-05T15:42:10.123Z");
  it.each([
    [[], "20261205T154210Z"],
    [["20261205T154210Z"], "20261205T154210Z-2"],
    [["20261205T154210Z", "20261205T154210Z-2"], "20261205T154210Z-3"],
    [["20261205T154209Z"], "20261205T154210Z"],
  ])("taken %j → %s", (taken, want) => {
    expect(freshBackupId(at, taken)).toBe(want);
  });
  it("is the UTC time to the second", () => {
    expect(backupIdAt(at)).toBe("20261205T154210Z");
  });
});

describe("connections in a manifest", () => {
  it.each([
    ["db1 by its address", "p1", "10.0.0.1", 3306, "p1/db1"],
    [
      "a server of two clusters: the one the connection is named after",
      "p2",
      "10.0.0.4",
      3306,
      "p2/db4",
    ],
    ["a server of two clusters, another name: the first", "x", "10.0.0.4", 3306, "p1/db4"],
    ["another port", "p1", "10.0.0.1", 3307, null],
    ["an unknown host", "p1", "10.9.9.9", 3306, null],
  ])("%s", (_what, name, host, port, want) => {
    const s = sourceOf(name, host, port, SOURCES);
    expect(s ? `${s.cluster}/${s.server}` : null).toBe(want);
  });

  it("reads SHOW ALL SLAVES STATUS rows: filter split, threads, IO position", () => {
    const rows = [
      {
        Connection_name: "p1",
        Master_Host: "10.0.0.1",
        Master_Port: 3306,
        Replicate_Wild_Do_Table: "src1.%,my\\_db.%",
        Slave_IO_Running: "Yes",
        Slave_SQL_Running: "Yes",
        Gtid_IO_Pos: "1-1-20",
      },
      {
        Connection_name: "other",
        Master_Host: "10.9.9.9",
        Master_Port: 3306,
        Replicate_Wild_Do_Table: "",
        Slave_IO_Running: "No",
        Slave_SQL_Running: "No",
        Gtid_IO_Pos: "",
      },
    ];
    expect(connectionsOf(rows, SOURCES)).toEqual([
      {
        name: "p1",
        cluster: "p1",
        source: "db1",
        masterHost: "10.0.0.1",
        masterPort: 3306,
        wildDoTables: ["src1.%", "my\\_db.%"],
        sqlRunning: true,
        ioRunning: true,
        gtidIoPos: "1-1-20",
      },
      {
        name: "other",
        cluster: null,
        source: null,
        masterHost: "10.9.9.9",
        masterPort: 3306,
        wildDoTables: [],
        sqlRunning: false,
        ioRunning: false,
        gtidIoPos: "",
      },
    ]);
  });
});

describe("positions", () => {
  it.each([
    ["", {}],
    ["1-1-10", { "1": "1-1-10" }],
    ["2-2-20,1-1-10", { "1": "1-1-10", "2": "2-2-20" }],
  ])("domains of %j", (gtid, want) => {
    expect(domainsOf(gtid)).toEqual(want);
  });

  it("reads gtid_slave_pos from xtrabackup_slave_info as 10.11 writes it for named connections", () => {
    const text =
      "SET GLOBAL gtid_slave_pos = '1-1-2516,2-2-2528';\nCHANGE MASTER 'p1' TO master_use_gtid = slave_pos;\nCHANGE MASTER 'p2' TO master_use_gtid = slave_pos;\n";
    expect(slaveInfoPosition(text)).toBe("1-1-2516,2-2-2528");
    expect(slaveInfoPosition("")).toBeNull();
  });

  it.each([
    ["1-1-10,2-2-20", "2-2-20,1-1-10", true],
    ["1-1-10,2-2-20", "1-1-10,2-2-21", false],
    ["1-1-10", "1-1-10,2-2-20", false],
    ["", "", true],
  ])("%j same as %j: %s", (a, b, want) => {
    expect(samePosition(a, b)).toBe(want);
  });
});

describe("listing a backup directory", () => {
  let dir: string;
  const server = { name: "db3" } as AgentServerConfig;
  const ctxOf = (backupDir: string | undefined, kind: "local" | "ssh" = "local") =>
    ({
      cfg: { host: "agent-db3", backupDir },
      host: () => ({ kind }),
      log: pino({ level: "silent" }),
    }) as unknown as OpContext;
  const manifest = (id: string, over: Partial<BackupManifest> = {}): BackupManifest => ({
    version: 1,
    id,
    server: "db3",
    startedAt: "2026-12-05T15:42:10.000Z",
    endedAt: "2026-12-05T15:42:12.000Z",
    gtidSlavePos: "1-1-10",
    domains: { "1": "1-1-10" },
    gtidBinlogPos: "1-1-10",
    connections: [],
    bytes: 1,
    slaveInfo: "",
    ...over,
  });
  const put = async (id: string, text: string | null) => {
    await mkdir(join(dir, "db3", id, "data"), { recursive: true });
    if (text !== null) await writeFile(join(dir, "db3", id, "manifest.json"), text);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "marina-backups-"));
    await put("20261205T100000Z", JSON.stringify(manifest("20261205T100000Z")));
    await put("20261205T120000Z", JSON.stringify(manifest("20261205T120000Z")));
    // Half-written (no manifest), unreadable, another server's, an id that is not its directory.
    await put("20261205T130000Z", null);
    await put("20261205T140000Z", "{not json");
    await put("20261205T150000Z", JSON.stringify(manifest("20261205T150000Z", { server: "db1" })));
    await put("20261205T160000Z", JSON.stringify(manifest("20261205T100000Z")));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists the valid manifests, newest first", async () => {
    const got = await listBackups(ctxOf(dir), server);
    expect(got.map((m) => m.id)).toEqual(["20261205T120000Z", "20261205T100000Z"]);
  });

  it("reads one by id; a missing or invalid one is BACKUP_NOT_FOUND", async () => {
    expect((await listBackups(ctxOf(dir), server, "20261205T100000Z")).map((m) => m.id)).toEqual([
      "20261205T100000Z",
    ]);
    for (const id of ["20261205T130000Z", "20261205T140000Z", "20000101T000000Z"]) {
      await expect(listBackups(ctxOf(dir), server, id)).rejects.toMatchObject({
        code: "BACKUP_NOT_FOUND",
      });
    }
  });

  it("an agent without backupDir, or a server over SSH, has none (NOT_APPLICABLE)", async () => {
    for (const ctx of [ctxOf(undefined), ctxOf(dir, "ssh")]) {
      const err = await listBackups(ctx, server).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MarinaError);
      expect((err as MarinaError).code).toBe("NOT_APPLICABLE");
    }
  });

  it("a server that never took one lists nothing", async () => {
    expect(await listBackups(ctxOf(dir), { name: "db9" } as AgentServerConfig)).toEqual([]);
  });
});
