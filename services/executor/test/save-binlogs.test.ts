// The save-binlogs step's pure parts: which files, where decoding starts, the argv (no
// secret on it), the option file, and the GTIDs read back from the decoded text.
import { describe, expect, it } from "vitest";
import { gtidOfEventLine } from "../src/save-binlogs/decoded-gtids.js";
import { summarizeGtids } from "../src/save-binlogs/gtid-summary.js";
import {
  type BinlogFile,
  chooseFiles,
  decodeArgv,
  decodeStart,
  dumpArgv,
  isBinlogName,
  optionFileText,
  saveFolderName,
} from "../src/save-binlogs/plan.js";

const files: BinlogFile[] = [
  { name: "binlog.000001", bytes: 963, start: "" },
  { name: "binlog.000002", bytes: 906, start: "0-11-4" },
  { name: "binlog.000003", bytes: 872, start: "0-11-6,2-11-1" },
];
const names = (fs: readonly BinlogFile[]) => fs.map((f) => f.name);

describe("chooseFiles", () => {
  it.each([
    // The last file starting at or before the fork, and every one after it.
    ["0-11-4", ["binlog.000002", "binlog.000003"], true],
    ["0-11-5", ["binlog.000002", "binlog.000003"], true],
    ["0-11-6", ["binlog.000003"], true],
    ["0-11-9", ["binlog.000003"], true],
    // Every domain of the fork must be at or before it.
    ["0-11-6,2-11-0", ["binlog.000002", "binlog.000003"], true],
    // No fork point: all of them.
    ["", ["binlog.000001", "binlog.000002", "binlog.000003"], true],
  ])("fork %s → %j", (fork, want, complete) => {
    const c = chooseFiles(files, fork);
    expect(names(c.files)).toEqual(want);
    expect(c.complete).toBe(complete);
  });

  it("a fork older than every file left (purged): all of them, not complete", () => {
    const c = chooseFiles(files.slice(1), "0-11-2");
    expect(names(c.files)).toEqual(["binlog.000002", "binlog.000003"]);
    expect(c.complete).toBe(false);
  });
});

describe("decodeStart", () => {
  it.each([
    // The fork in its domains; the first file's start in every other domain it names.
    ["0-11-6,2-11-1", "0-11-7", "0-11-7,2-11-1"],
    ["0-11-4", "0-11-5", "0-11-5"],
    ["", "0-11-2", "0-11-2"],
    // No fork point: whole files.
    ["0-11-6,2-11-1", "", ""],
  ])("file start %s, fork %s → %s", (start, fork, want) => {
    expect(decodeStart(start, fork)).toBe(want);
  });
});

describe("argv", () => {
  it("dumps raw, whole files, to the last log, with the reserved id; no secret, no --server-id", () => {
    const argv = dumpArgv({
      optionFile: "/tmp/x/client.cnf",
      folder: "/saved/f",
      first: "binlog.000002",
      dumpServerId: 4294967001,
    });
    expect(argv).toEqual([
      "--defaults-file=/tmp/x/client.cnf",
      "--read-from-remote-server",
      "--raw",
      "--to-last-log",
      "--stop-never-slave-server-id=4294967001",
      "--result-file=/saved/f/",
      "binlog.000002",
    ]);
    // --server-id is a filter in mariadb-binlog 10.11: it would save nothing.
    expect(argv.some((a) => a.startsWith("--server-id"))).toBe(false);
    expect(argv.some((a) => /password|--user|--start-position/.test(a))).toBe(false);
  });

  it("decodes from the start position, or whole files without one", () => {
    expect(decodeArgv({ files: ["/s/b.2", "/s/b.3"], start: "0-1-4", out: "/s/x.sql" })).toEqual([
      "--no-defaults",
      "--verbose",
      "--start-position=0-1-4",
      "--result-file=/s/x.sql",
      "/s/b.2",
      "/s/b.3",
    ]);
    expect(decodeArgv({ files: ["/s/b.2"], start: "", out: "/s/x.sql" })).toEqual([
      "--no-defaults",
      "--verbose",
      "--result-file=/s/x.sql",
      "/s/b.2",
    ]);
  });
});

describe("optionFileText", () => {
  it("quotes values, adds TLS, refuses a line break", () => {
    const text = optionFileText({
      user: "marina",
      password: 'p"a\\ss#;word',
      host: "10.0.0.1",
      port: 3306,
      tls: { ca: "/etc/ca.pem" },
    });
    expect(text).toBe(
      [
        "[client]",
        'user="marina"',
        'password="p\\"a\\\\ss#;word"',
        'host="10.0.0.1"',
        "port=3306",
        "protocol=TCP",
        'ssl-ca="/etc/ca.pem"',
        "ssl-verify-server-cert",
        "",
      ].join("\n"),
    );
    expect(() => optionFileText({ user: "u", password: "a\nb", host: "h", port: 1 })).toThrow(
      /line break/,
    );
  });
});

describe("names", () => {
  it("a folder per cluster, server, time and operation, with nothing odd in it", () => {
    expect(saveFolderName("main", "db1", new Date("2026-12-05T10:37:26.820Z"), "op-1")).toBe(
      "main-db1-2026-12-05T10-37-26-820Z-op-1",
    );
    expect(saveFolderName("a/b", "..", new Date(0), "x y")).not.toMatch(/[/ ]/);
  });

  it.each([
    ["binlog.000002", true],
    ["mysql-bin.000001", true],
    ["--raw", false],
    ["../etc/passwd", false],
    ["", false],
  ])("binlog name %s → %s", (name, ok) => {
    expect(isBinlogName(name)).toBe(ok);
  });
});

describe("GTIDs of the decoded text", () => {
  it.each([
    ["#261205 10:37:26 server id 1  end_log_pos 686 CRC32 0x2f2db8a0 \tGTID 0-1-4 trans", "0-1-4"],
    ["#261205 10:33:07 server id 11  end_log_pos 598 CRC32 0xd79c593a \tGTID 0-11-8 ddl", "0-11-8"],
    ["#261205 10:37:26 server id 1  end_log_pos 299 CRC32 0x41427342 \tGtid list [0-1-2]", null],
    ["/*M!100001 SET @@session.gtid_seq_no=4*//*!*/;", null],
    ["#Q> INSERT INTO t VALUES ('GTID 0-1-9 trans')", null],
    ["#Q> INSERT INTO t VALUES ('x GTID 0-1-9 trans')", null],
    ["### @2='#261205 10:37:26 server id 1 end_log_pos 1 GTID 0-1-9 trans'", null],
  ])("%s → %s", (line, want) => {
    expect(gtidOfEventLine(line)).toBe(want);
  });

  it("first and last per domain and server", () => {
    expect(summarizeGtids(["0-1-3", "2-1-1", "0-1-4", "0-2-5"])).toEqual({
      count: 4,
      first: "0-1-3,0-2-5,2-1-1",
      last: "0-1-4,0-2-5,2-1-1",
    });
    expect(summarizeGtids([])).toEqual({ count: 0, first: "", last: "" });
  });
});
