import { describe, expect, it } from "vitest";
import { MONITOR_NEEDS } from "../src/account-needs.js";
import { checkPrivileges, readGrants } from "../src/privilege-check.js";

function recorder() {
  const lines: Array<{ level: "warn" | "info"; obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => lines.push({ level: "warn", obj: { ...obj }, msg }),
    info: (obj: object, msg: string) => lines.push({ level: "info", obj: { ...obj }, msg }),
  };
}

const HASHED =
  "GRANT USAGE ON *.* TO `m`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'";

describe("checkPrivileges", () => {
  it("warns per server that lacks a privilege, notes an unreachable one, and never rejects", async () => {
    const log = recorder();
    const results = await checkPrivileges(
      "monitor",
      [
        {
          server: "db1",
          labels: { cluster: "main" },
          user: "m",
          read: async () => ({ account: "m@%", lines: [HASHED] }),
        },
        {
          server: "db2",
          labels: { cluster: "main" },
          user: "m",
          read: async () => ({
            account: "m@%",
            lines: ["GRANT PROCESS, SLAVE MONITOR ON *.* TO `m`@`%`"],
          }),
        },
        {
          server: "db3",
          labels: { cluster: "main" },
          user: "m",
          read: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:1\nmore")),
        },
      ],
      MONITOR_NEEDS,
      log,
    );
    expect(results.map((r) => [r.server, r.kind])).toEqual([
      ["db1", "checked"],
      ["db2", "checked"],
      ["db3", "unreadable"],
    ]);
    const warns = log.lines.filter((l) => l.level === "warn");
    expect(warns).toHaveLength(1);
    expect(warns[0]!.obj).toMatchObject({
      cluster: "main",
      server: "db1",
      code: "MISSING_PRIVILEGE",
      account: "'m'@'%'",
      missing: [
        { privilege: "SLAVE MONITOR", on: "*.*" },
        { privilege: "PROCESS", on: "*.*" },
      ],
      grant: ["GRANT SLAVE MONITOR, PROCESS ON *.* TO 'm'@'%'"],
    });
    expect(warns[0]!.msg).toMatch(
      /^the monitor's MariaDB account 'm'@'%' on db1 lacks SLAVE MONITOR \(or SUPER\): SHOW ALL SLAVES STATUS.*; PROCESS: client_connections/,
    );
    const skipped = log.lines.find((l) => l.obj.server === "db3");
    expect(skipped).toMatchObject({
      level: "info",
      obj: { user: "m", error: "connect ECONNREFUSED 127.0.0.1:1" },
    });
    // No line carries a grant line (they may hold a password hash).
    expect(JSON.stringify(log.lines)).not.toContain("PASSWORD");
  });
});

describe("readGrants", () => {
  it("reads CURRENT_USER() and the first column of SHOW GRANTS", async () => {
    const asked: string[] = [];
    const reading = await readGrants(async (sql) => {
      asked.push(sql);
      return sql.startsWith("SELECT")
        ? [{ account: "m@%" }]
        : [{ "Grants for m@%": "GRANT PROCESS ON *.* TO `m`@`%`" }];
    });
    expect(asked).toEqual(["SELECT CURRENT_USER() AS account", "SHOW GRANTS"]);
    expect(reading).toEqual({ account: "m@%", lines: ["GRANT PROCESS ON *.* TO `m`@`%`"] });
  });
});
