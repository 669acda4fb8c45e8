import { type BackupManifest, BackupManifest as ManifestSchema } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { connectionCell, formatBackupsTable, formatPruneTable } from "../src/format/backups.js";
import { PLAIN } from "../src/format/style.js";

function manifest(over: Partial<BackupManifest> = {}): BackupManifest {
  return ManifestSchema.parse({
    version: 1,
    id: "20261205T154210Z",
    server: "db3",
    startedAt: "2026-12-05T15:42:10.000Z",
    endedAt: "2026-12-05T15:42:12.000Z",
    gtidSlavePos: "1-1-10,2-2-20",
    domains: { "1": "1-1-10", "2": "2-2-20" },
    gtidBinlogPos: "",
    connections: [
      {
        name: "p1",
        cluster: "p1",
        source: "db1",
        masterHost: "10.0.0.1",
        masterPort: 3306,
        wildDoTables: ["src1.%"],
        sqlRunning: true,
        ioRunning: true,
        gtidIoPos: "",
      },
      {
        name: "x",
        cluster: null,
        source: null,
        masterHost: "10.9.9.9",
        masterPort: 3307,
        wildDoTables: [],
        sqlRunning: false,
        ioRunning: false,
        gtidIoPos: "",
      },
    ],
    bytes: 57_776_128,
    slaveInfo: "",
    ...over,
  });
}

describe("marina backups", () => {
  it("a connection: its cluster and source, else its address; its filter; stopped when it was", () => {
    const [a, b] = manifest().connections;
    expect(connectionCell(a!)).toBe("'p1'←p1(db1) src1.%");
    expect(connectionCell(b!)).toBe("'x'←10.9.9.9:3307 (stopped)");
  });

  it("one row per backup: server, id, time, size, position, connections", () => {
    const text = formatBackupsTable(
      [manifest(), manifest({ id: "20261205T100000Z", connections: [] })],
      {
        boxed: false,
        style: PLAIN,
      },
    );
    const lines = text.split("\n").map((l) => l.trim().split(/\s{2,}/));
    expect(lines[0]).toEqual(["server", "id", "taken", "size", "gtid_slave_pos", "connections"]);
    expect(lines[1]).toEqual([
      "db3",
      "20261205T154210Z",
      "2026-12-05T15:42:12.000Z",
      "55.1 MB",
      "1-1-10,2-2-20",
      "'p1'←p1(db1) src1.% 'x'←10.9.9.9:3307 (stopped)",
    ]);
    expect(lines[2]?.at(-1)).toBe("none");
  });

  it("a prune: what goes (or would), what stays, what is left alone, and the bytes freed", () => {
    const e = (id: string, complete: boolean, bytes: number, why: string) => ({
      id,
      complete,
      startedAt: `${id.slice(0, 4)}-12-0${id.slice(7, 8)}T00:00:00.000Z`,
      bytes,
      why,
    });
    const result = {
      server: "db3",
      dryRun: true,
      deleted: [e("20261201T000000Z", true, 2 * 1048576, "older than the newest 1")],
      kept: [e("20261203T000000Z", true, 1048576, "one of the newest 1")],
      skipped: [{ ...e("20261202T000000Z", false, 0, "a symlink"), startedAt: null }],
      bytesFreed: 2 * 1048576,
    };
    const text = formatPruneTable(result, { boxed: false, style: PLAIN });
    const lines = text.split("\n").map((l) => l.trim().split(/\s{2,}/));
    expect(lines[0]).toEqual(["id", "complete", "started", "size", "why"]);
    expect(lines[1]).toEqual([
      "would delete",
      "20261201T000000Z",
      "yes",
      "2026-12-01T00:00:00.000Z",
      "2.0 MB",
      "older than the newest 1",
    ]);
    expect(lines[2]?.[0]).toBe("keep");
    expect(lines[3]?.slice(0, 4)).toEqual(["leave alone", "20261202T000000Z", "no", "-"]);
    expect(text.split("\n").at(-1)).toBe("would free 2.0 MB on db3's host");
    expect(formatPruneTable({ ...result, dryRun: false }, { boxed: false, style: PLAIN })).toMatch(
      /^\s*delete\s+20261201T000000Z[\s\S]*frees 2\.0 MB/m,
    );
  });
});
