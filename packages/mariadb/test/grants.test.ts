import { describe, expect, it } from "vitest";
import { BACKUP_NEEDS, EXECUTOR_NEEDS, MONITOR_NEEDS } from "../src/account-needs.js";
import {
  accountLiteral,
  canonicalPrivilege,
  grantStatements,
  missingPrivileges,
  type PrivilegeNeed,
  parseGrants,
} from "../src/grants.js";
import { describeMissing, privilegeReport } from "../src/privilege-check.js";

// Lines as MariaDB 10.11.19 printed them for `SHOW GRANTS` (recorded on the lab).
const HASH = "IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'";
const L = {
  all: `GRANT ALL PRIVILEGES ON *.* TO \`t1\`@\`%\` ${HASH} WITH GRANT OPTION`,
  superOnly: `GRANT SUPER ON *.* TO \`t1\`@\`%\` ${HASH}`,
  executor: `GRANT RELOAD, PROCESS, CONNECTION ADMIN, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, SLAVE MONITOR ON *.* TO \`marina\`@\`%\` ${HASH}`,
  monitor: `GRANT PROCESS, SLAVE MONITOR ON *.* TO \`marina_monitor\`@\`%\` ${HASH}`,
  usage: `GRANT USAGE ON *.* TO \`u\`@\`%\` ${HASH}`,
  roleGrant: "GRANT `r_outer` TO `u`@`%`",
  innerRole: "GRANT `r_inner` TO `r_outer`",
  roleMonitor: "GRANT SLAVE MONITOR ON *.* TO `r_outer`",
  roleProcess: "GRANT PROCESS ON *.* TO `r_inner`",
  publicReload: "GRANT RELOAD ON *.* TO PUBLIC",
  defaultRole: "SET DEFAULT ROLE `r_outer` FOR `u`@`%`",
  mysqlAll: "GRANT ALL PRIVILEGES ON `mysql`.* TO `x`@`%` WITH GRANT OPTION",
  mysqlSelect: "GRANT SELECT ON `mysql`.* TO `marina`@`%`",
  column: "GRANT SELECT (`User`, `Host`) ON `mysql`.`db` TO `x`@`%`",
  table: "GRANT SELECT, INSERT ON `mysql`.`global_priv` TO `x`@`%`",
  routine: "GRANT EXECUTE ON PROCEDURE `app`.`p1` TO `x`@`%`",
  proxy: "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
  aliases: `GRANT REPLICA MONITOR, REPLICATION CLIENT ON *.* TO \`a\`@\`%\` ${HASH}`,
  oddDb: "GRANT SELECT, SHOW VIEW ON `we``ird, ON db`.* TO `x`@`%`",
};

const sorted = (s: ReadonlySet<string>) => [...s].sort();

describe("parseGrants", () => {
  it.each<[string, string[], string[]]>([
    ["ALL PRIVILEGES", [L.all], ["ALL PRIVILEGES"]],
    ["SUPER alone", [L.superOnly], ["SUPER"]],
    [
      "the executor's grants",
      [L.executor],
      [
        "CONNECTION ADMIN",
        "PROCESS",
        "READ_ONLY ADMIN",
        "RELOAD",
        "REPLICATION MASTER ADMIN",
        "REPLICATION SLAVE ADMIN",
        "SLAVE MONITOR",
      ],
    ],
    ["USAGE is nothing", [L.usage], []],
    [
      "an account, its role, the role's role and PUBLIC",
      [
        L.roleGrant,
        L.usage,
        L.innerRole,
        L.roleMonitor,
        L.roleProcess,
        L.publicReload,
        L.defaultRole,
      ],
      ["PROCESS", "RELOAD", "SLAVE MONITOR"],
    ],
    ["aliases are canonical", [L.aliases], ["BINLOG MONITOR", "SLAVE MONITOR"]],
    [
      "table, column, routine and proxy grants are not global",
      [L.column, L.table, L.routine, L.proxy],
      [],
    ],
  ])("%s", (_what, lines, global) => {
    expect(sorted(parseGrants(lines).global)).toEqual(global);
  });

  it("keeps database-level grants by database, quotes and commas inside names included", () => {
    const g = parseGrants([L.mysqlAll, L.mysqlSelect, L.oddDb, L.table]);
    expect(sorted(g.databases.get("mysql")!)).toEqual(["ALL PRIVILEGES", "SELECT"]);
    expect(sorted(g.databases.get("we`ird, ON db")!)).toEqual(["SELECT", "SHOW VIEW"]);
    expect(g.databases.size).toBe(2);
    expect(g.global.size).toBe(0);
  });

  it("ignores what is not a grant", () => {
    expect(
      parseGrants(["", "SET DEFAULT ROLE NONE FOR `u`@`%`", "GRANT", "GRANT x"]).global.size,
    ).toBe(0);
  });

  it.each([
    ["replica monitor", "SLAVE MONITOR"],
    ["REPLICATION  CLIENT", "BINLOG MONITOR"],
    ["all", "ALL PRIVILEGES"],
    ["read_only admin", "READ_ONLY ADMIN"],
  ])("canonicalPrivilege(%j) = %j", (name, canonical) => {
    expect(canonicalPrivilege(name)).toBe(canonical);
  });
});

const need = (anyOf: [string, ...string[]], on: PrivilegeNeed["on"] = "*.*", optional = false) => ({
  anyOf,
  on,
  reason: `needs ${anyOf[0]}`,
  ...(optional ? { optional } : {}),
});

describe("missingPrivileges", () => {
  it.each<[string, string[], PrivilegeNeed[], string[]]>([
    [
      "ALL PRIVILEGES covers everything",
      [L.all],
      [need(["READ_ONLY ADMIN"]), need(["SELECT"], "mysql.*")],
      [],
    ],
    ["an alternative is enough", [L.superOnly], [need(["SLAVE MONITOR", "SUPER"])], []],
    // SUPER no longer carries READ_ONLY ADMIN (10.11), nor RELOAD.
    [
      "SUPER is not READ_ONLY ADMIN",
      [L.superOnly],
      [need(["READ_ONLY ADMIN"]), need(["RELOAD"])],
      ["READ_ONLY ADMIN", "RELOAD"],
    ],
    [
      "nothing granted",
      [L.usage],
      [need(["PROCESS"]), need(["SLAVE MONITOR", "SUPER"])],
      ["PROCESS", "SLAVE MONITOR"],
    ],
    ["a role's grant counts", [L.roleGrant, L.roleMonitor], [need(["SLAVE MONITOR", "SUPER"])], []],
    ["a database grant covers its database", [L.mysqlSelect], [need(["SELECT"], "mysql.*")], []],
    ["ALL on the database covers it", [L.mysqlAll], [need(["SELECT"], "mysql.*")], []],
    [
      "a global grant covers a database",
      [`GRANT SELECT ON *.* TO \`b\`@\`localhost\``],
      [need(["SELECT"], "mysql.*")],
      [],
    ],
    ["a database grant is not global", [L.mysqlAll], [need(["SELECT"])], ["SELECT"]],
    ["a table grant covers no database", [L.table], [need(["SELECT"], "mysql.*")], ["SELECT"]],
    [
      "ALL PRIVILEGES as a need is only met by ALL",
      [L.executor],
      [need(["ALL PRIVILEGES"])],
      ["ALL PRIVILEGES"],
    ],
  ])("%s", (_what, lines, needs, missing) => {
    expect(missingPrivileges(parseGrants(lines), needs).map((m) => m.privilege)).toEqual(missing);
  });

  it("carries the scope, the alternatives, the reason and the optional flag", () => {
    const [m] = missingPrivileges(parseGrants([L.usage]), [
      need(["SLAVE MONITOR", "SUPER"], "*.*", true),
    ]);
    expect(m).toEqual({
      privilege: "SLAVE MONITOR",
      alternatives: ["SUPER"],
      on: "*.*",
      reason: "needs SLAVE MONITOR",
      optional: true,
    });
  });
});

describe("the accounts' needs against the grants docs/security.md gives", () => {
  const monitor = [L.monitor];
  const executor = [L.executor];
  const backup = [
    "GRANT RELOAD, PROCESS, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN ON *.* TO `marina_backup`@`localhost`",
  ];
  const names = (lines: string[], needs: readonly PrivilegeNeed[]) =>
    missingPrivileges(parseGrants(lines), needs).map(
      (m) => `${m.privilege}${m.optional ? "?" : ""}`,
    );

  it.each<[string, string[], readonly PrivilegeNeed[], string[]]>([
    ["monitor", monitor, MONITOR_NEEDS, []],
    ["executor", executor, EXECUTOR_NEEDS, ["SELECT?"]],
    ["executor with the optional grant", [...executor, L.mysqlSelect], EXECUTOR_NEEDS, []],
    [
      "backup",
      backup,
      BACKUP_NEEDS,
      ["SELECT?", "SHOW VIEW?", "TRIGGER?", "EVENT?", "ALL PRIVILEGES?"],
    ],
    // The monitor's grants are not an executor's: each missing one named.
    [
      "the monitor's account used by an executor",
      monitor,
      EXECUTOR_NEEDS,
      [
        "READ_ONLY ADMIN",
        "REPLICATION SLAVE ADMIN",
        "RELOAD",
        "REPLICATION MASTER ADMIN",
        "CONNECTION ADMIN",
        "SELECT?",
      ],
    ],
    [
      "SUPER alone for the executor",
      [L.superOnly],
      EXECUTOR_NEEDS,
      ["PROCESS", "READ_ONLY ADMIN", "RELOAD", "SELECT?"],
    ],
    ["ALL for anyone", [L.all], [...MONITOR_NEEDS, ...EXECUTOR_NEEDS, ...BACKUP_NEEDS], []],
  ])("%s", (_what, lines, needs, missing) => {
    expect(names(lines, needs)).toEqual(missing);
  });
});

describe("reporting", () => {
  it("names the account, each missing privilege with its reason, and the GRANT", () => {
    const report = privilegeReport({ account: "marina@%", lines: [L.monitor] }, EXECUTOR_NEEDS);
    expect(report.account).toBe("'marina'@'%'");
    expect(report.missing.map((m) => m.privilege)).toContain("READ_ONLY ADMIN");
    expect(report.optional.map((m) => m.privilege)).toEqual(["SELECT"]);
    const text = describeMissing("executor", "db1", report.account, report.missing);
    expect(text).toMatch(
      /^the executor's MariaDB account 'marina'@'%' on db1 lacks READ_ONLY ADMIN: SET GLOBAL read_only/,
    );
    expect(text).toContain("CONNECTION ADMIN (or SUPER): KILL CONNECTION");
    expect(text).toContain(
      "Grant: GRANT READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, RELOAD, REPLICATION MASTER ADMIN, CONNECTION ADMIN ON *.* TO 'marina'@'%'",
    );
    expect(text).not.toContain("PASSWORD");
    const optional = describeMissing("executor", "db1", report.account, report.optional);
    expect(optional).toMatch(/does without the optional SELECT ON mysql\.\*: /);
    expect(optional).toContain("Grant: GRANT SELECT ON `mysql`.* TO 'marina'@'%'");
  });

  it.each([
    ["marina@%", "'marina'@'%'"],
    ["marina_backup@localhost", "'marina_backup'@'localhost'"],
    ["we'ird@user@10.0.0.%", "'we''ird@user'@'10.0.0.%'"],
    ["nohost", "'nohost'@'%'"],
  ])("accountLiteral(%j) = %s", (current, literal) => {
    expect(accountLiteral(current)).toBe(literal);
  });

  it("groups GRANT statements by scope", () => {
    const missing = missingPrivileges(parseGrants([]), [
      need(["PROCESS"]),
      need(["SELECT"], "mysql.*", true),
      need(["SLAVE MONITOR", "SUPER"]),
    ]);
    expect(grantStatements("'m'@'%'", missing)).toEqual([
      "GRANT PROCESS, SLAVE MONITOR ON *.* TO 'm'@'%'",
      "GRANT SELECT ON `mysql`.* TO 'm'@'%'",
    ]);
  });
});
