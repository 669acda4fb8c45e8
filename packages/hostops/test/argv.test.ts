import { describe, expect, it } from "vitest";
import {
  backupStream,
  chownDatadir,
  compressor,
  connectStream,
  decompressor,
  dumpStream,
  emptyDirectory,
  extractStream,
  listenStream,
  loadStream,
  prepareBackup,
  systemctl,
} from "../src/index.js";

const backup = {
  defaultsFile: "/etc/mysql/my.cnf",
  socket: "/run/mysqld/mysqld.sock",
  user: "marina_backup",
  tmpDir: "/var/tmp/marina-agent/db1-op1",
};

describe("argv builders", () => {
  it("builds the logical dump (all databases, users via mysql, GTID) and its load (sql_log_bin=0)", () => {
    const spec = { defaultsFile: backup.defaultsFile, socket: backup.socket, user: backup.user };
    const dump = dumpStream(spec);
    expect(dump.program).toBe("mariadb-dump");
    expect(dump.args[0]).toBe("--defaults-file=/etc/mysql/my.cnf");
    expect(dump.args).toEqual(
      expect.arrayContaining([
        "--all-databases",
        "--single-transaction",
        "--gtid",
        "--master-data=1",
        "--flush-privileges",
        "--routines",
        "--events",
        "--triggers",
        "--user=marina_backup",
      ]),
    );
    const load = loadStream(spec);
    expect(load.program).toBe("mariadb");
    expect(load.args[0]).toBe("--defaults-file=/etc/mysql/my.cnf");
    expect(load.args).toContain("--init-command=SET SESSION sql_log_bin=0");
    for (const inv of [dump, load]) {
      expect(inv.args.some((a) => /password/i.test(a))).toBe(false);
    }
    expect(() => dumpStream({ ...spec, socket: "../x" })).toThrow();
    // Some databases only: no mysql schema, names last, never taken for an option.
    const some = dumpStream({ ...spec, databases: ["app1", "app2"] });
    expect(some.args.slice(-3)).toEqual(["--databases", "app1", "app2"]);
    expect(some.args).not.toContain("--all-databases");
    expect(some.args).not.toContain("--flush-privileges");
    expect(() => dumpStream({ ...spec, databases: ["--no-data"] })).toThrow();
    expect(() => loadStream({ ...spec, user: "-x" })).toThrow();
  });

  it("builds the donor's mariadb-backup with --defaults-file first and no password", () => {
    const inv = backupStream(backup);
    expect(inv.program).toBe("mariadb-backup");
    expect(inv.args).toEqual([
      "--defaults-file=/etc/mysql/my.cnf",
      "--backup",
      "--stream=xbstream",
      "--slave-info",
      "--safe-slave-backup",
      "--target-dir=/var/tmp/marina-agent/db1-op1",
      "--user=marina_backup",
      "--socket=/run/mysqld/mysqld.sock",
    ]);
    expect(inv.args.join(" ")).not.toMatch(/password/);
  });

  it("builds the receiving side", () => {
    expect(listenStream({ port: 4444, bind: "10.0.0.2" }).args).toEqual([
      "-d",
      "-d",
      "-u",
      "TCP-LISTEN:4444,reuseaddr,bind=10.0.0.2",
      "-",
    ]);
    expect(listenStream({ port: 4444, bind: "::1" }).args[3]).toBe(
      "TCP-LISTEN:4444,reuseaddr,bind=[::1]",
    );
    expect(extractStream("/var/lib/mysql").args).toEqual(["-x", "-C", "/var/lib/mysql"]);
    expect(prepareBackup("/var/lib/mysql", "/etc/mysql/my.cnf").args).toEqual([
      "--defaults-file=/etc/mysql/my.cnf",
      "--prepare",
      "--target-dir=/var/lib/mysql",
    ]);
  });

  it("builds the sending socat with a connect timeout, and TLS variants", () => {
    expect(
      connectStream({ address: "db2.example.com", port: 4444, connectTimeoutS: 30 }).args,
    ).toEqual(["-d", "-d", "-u", "-", "TCP:db2.example.com:4444,connect-timeout=30"]);
    const tls = {
      cert: "/etc/marina/agent.pem",
      key: "/etc/marina/agent.key",
      ca: "/etc/marina/ca.pem",
    };
    expect(
      connectStream({ address: "10.0.0.2", port: 4444, connectTimeoutS: 5, tls }).args[4],
    ).toBe(
      "OPENSSL:10.0.0.2:4444,cert=/etc/marina/agent.pem,key=/etc/marina/agent.key,cafile=/etc/marina/ca.pem,verify=1,connect-timeout=5",
    );
    expect(listenStream({ port: 4444, bind: "0.0.0.0", tls }).args[3]).toBe(
      "OPENSSL-LISTEN:4444,reuseaddr,bind=0.0.0.0,cert=/etc/marina/agent.pem,key=/etc/marina/agent.key,cafile=/etc/marina/ca.pem,verify=1",
    );
  });

  it.each([
    [{ kind: "none" } as const, undefined, undefined],
    [{ kind: "pigz", level: 1 } as const, ["-1", "-c"], ["-d", "-c"]],
    [{ kind: "zstd", level: 19 } as const, ["-19", "-T0", "-q", "-c"], ["-d", "-q", "-c"]],
  ])("compression %j", (c, comp, dec) => {
    expect(compressor(c)?.args).toEqual(comp);
    expect(decompressor(c)?.args).toEqual(dec);
  });

  it("refuses compression levels out of range", () => {
    expect(() => compressor({ kind: "pigz", level: 0 })).toThrow(/level/);
    expect(() => compressor({ kind: "zstd", level: 20 })).toThrow(/level/);
  });

  it("builds the SSH backend's datadir commands", () => {
    expect(emptyDirectory("/var/lib/mysql").args).toEqual([
      "/var/lib/mysql",
      "-xdev",
      "-mindepth",
      "1",
      "-delete",
    ]);
    expect(chownDatadir("/var/lib/mysql", "mysql", "mysql").args).toEqual([
      "-R",
      "-h",
      "mysql:mysql",
      "/var/lib/mysql",
    ]);
    expect(systemctl("stop", "mariadb@db1.service").args).toEqual(["stop", "mariadb@db1.service"]);
  });

  // Each hostile value must be refused by the builder, before any program could run.
  it.each([
    ["datadir /", () => extractStream("/")],
    ["datadir /etc", () => extractStream("/etc")],
    ["datadir relative", () => extractStream("var/lib/mysql")],
    ["datadir traversal", () => extractStream("/var/lib/mysql/../../etc")],
    ["datadir dot segment", () => extractStream("/var/lib/./mysql")],
    ["datadir trailing slash", () => extractStream("/var/lib/mysql/")],
    ["datadir double slash", () => extractStream("/var//lib/mysql")],
    ["datadir with space", () => extractStream("/var/lib/my sql")],
    ["datadir with ;", () => extractStream("/var/lib/mysql;rm")],
    ["datadir with $()", () => extractStream("/var/lib/$(reboot)")],
    ["datadir with comma (socat option)", () => emptyDirectory("/var/lib/a,b")],
    [
      "address with socat option",
      () => connectStream({ address: "1.2.3.4,fork", port: 1, connectTimeoutS: 1 }),
    ],
    [
      "address with colon",
      () => connectStream({ address: "evil:22", port: 1, connectTimeoutS: 1 }),
    ],
    ["address with space", () => connectStream({ address: "a b", port: 1, connectTimeoutS: 1 })],
    [
      "address starting with -",
      () => connectStream({ address: "-x", port: 1, connectTimeoutS: 1 }),
    ],
    ["port 0", () => listenStream({ port: 0, bind: "127.0.0.1" })],
    ["port 70000", () => listenStream({ port: 70000, bind: "127.0.0.1" })],
    ["bind with option", () => listenStream({ port: 1, bind: "0.0.0.0,fork" })],
    ["unit as option", () => systemctl("stop", "--all")],
    ["unit with space", () => systemctl("stop", "mariadb; reboot")],
    ["chown user injection", () => chownDatadir("/var/lib/mysql", "root:root /etc", "x")],
    ["backup user with quote", () => backupStream({ ...backup, user: "a'b" })],
    ["backup user as option", () => backupStream({ ...backup, user: "-uroot" })],
    [
      "tls path with comma",
      () =>
        listenStream({ port: 1, bind: "127.0.0.1", tls: { cert: "/a,fork", key: "/k", ca: "/c" } }),
    ],
  ])("refuses %s", (_name, build) => {
    expect(build).toThrow(/VALIDATION|must|level|system directory/i);
  });
});
