import { describe, expect, it } from "vitest";
import {
  checkDatadirPath,
  judgeDatadirListing,
  parseBackupPosition,
  parseLsListing,
  REBUILD_MARKER,
  socatHost,
} from "../src/index.js";

describe("datadir listing verdict", () => {
  it.each([
    [[], true],
    [[{ name: "ibdata1", kind: "file" }], true],
    [
      [
        { name: "mysql", kind: "dir" },
        { name: "app", kind: "dir" },
      ],
      true,
    ],
    [[{ name: "aria_log_control", kind: "file" }], true],
    [
      [
        { name: REBUILD_MARKER, kind: "file" },
        { name: "app", kind: "dir" },
      ],
      true,
    ],
    // A symlink named mysql or ibdata1 is not a marker.
    [[{ name: "mysql", kind: "symlink" }], false],
    [[{ name: "ibdata1", kind: "symlink" }], false],
    [[{ name: "mysql", kind: "file" }], false],
    [
      [
        { name: "passwd", kind: "file" },
        { name: "shadow", kind: "file" },
      ],
      false,
    ],
    [[{ name: "home", kind: "dir" }], false],
  ] as const)("%j -> %s", (entries, ok) => {
    expect(judgeDatadirListing(entries).ok).toBe(ok);
  });

  it("parses ls -A1p", () => {
    expect(parseLsListing("ibdata1\nmysql/\n.marina-rebuild.json\r\n")).toEqual([
      { name: "ibdata1", kind: "file" },
      { name: "mysql", kind: "dir" },
      { name: ".marina-rebuild.json", kind: "file" },
    ]);
  });
});

describe("configured datadir paths", () => {
  it.each(["/", "/etc", "/var/lib", "/usr", "/home", "/root", "/tmp"])("refuses %s", (p) => {
    expect(() => checkDatadirPath(p, "datadir")).toThrow(/system directory|root directory/);
  });
  it("accepts a normal datadir", () => {
    expect(checkDatadirPath("/var/lib/mysql", "datadir")).toBe("/var/lib/mysql");
  });
});

describe("socat hosts", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["::1", "[::1]"],
    ["fe80::1", "[fe80::1]"],
    ["db-2.example.com", "db-2.example.com"],
  ])("%s -> %s", (v, want) => {
    expect(socatHost(v, "address")).toBe(want);
  });
});

describe("backup position files", () => {
  it("reads file, offset and a multi-domain GTID", () => {
    expect(parseBackupPosition("binlog.000003\t1078\t0-1-5,1-2-7\n", null)).toEqual({
      binlogFile: "binlog.000003",
      binlogPos: 1078,
      gtid: "0-1-5,1-2-7",
      slaveGtid: null,
    });
  });
  it("reads the donor replica's gtid_slave_pos", () => {
    const p = parseBackupPosition(
      "binlog.000001\t42\t0-1-9",
      "SET GLOBAL gtid_slave_pos = '0-1-9';\nCHANGE MASTER TO master_use_gtid = slave_pos\n",
    );
    expect(p.slaveGtid).toBe("0-1-9");
  });
  it("accepts a donor without GTIDs and refuses garbage", () => {
    expect(parseBackupPosition("binlog.000001\t328\n", null).gtid).toBe("");
    expect(() => parseBackupPosition("binlog.000001\t328\t'; DROP TABLE x", null)).toThrow(/GTID/);
  });
});
