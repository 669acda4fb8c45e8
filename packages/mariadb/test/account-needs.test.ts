// docs/security.md stays true: the GRANT statements it gives each account satisfy what
// the code checks at start (account-needs.ts), and its tables name every privilege.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BACKUP_NEEDS,
  BINLOG_SAVE_NEEDS,
  EXECUTOR_NEEDS,
  FLASHBACK_NEEDS,
  flashbackTableNeeds,
  MONITOR_NEEDS,
} from "../src/account-needs.js";
import { missingPrivileges, type PrivilegeNeed, parseGrants } from "../src/grants.js";

const doc = readFileSync(join(import.meta.dirname, "../../../docs/security.md"), "utf8");

/** Every GRANT of the doc's sql blocks, by user name (`'marina'@'%'` → marina). */
function grantsByUser(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const block of doc.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const sql = block[1]!
      .split("\n")
      .filter((l) => !l.trim().startsWith("--"))
      .join(" ");
    for (const stmt of sql.split(";")) {
      const text = stmt.replace(/\s+/g, " ").trim();
      const user = /^GRANT .* TO '([^']+)'@/.exec(text)?.[1];
      if (user) out.set(user, [...(out.get(user) ?? []), text]);
    }
  }
  return out;
}

describe("docs/security.md", () => {
  const grants = grantsByUser();
  const missing = (user: string, needs: readonly PrivilegeNeed[]) =>
    missingPrivileges(parseGrants(grants.get(user) ?? []), needs).map((m) => m.privilege);

  it.each<[string, readonly PrivilegeNeed[], string[]]>([
    ["marina", EXECUTOR_NEEDS, []], // the optional SELECT ON mysql.* is in the block too
    // saveBinlogs and flashbacks (of tables in app): their own blocks.
    ["marina", [...BINLOG_SAVE_NEEDS, ...FLASHBACK_NEEDS, ...flashbackTableNeeds(["app"])], []],
    ["marina_monitor", MONITOR_NEEDS, []],
    // A logical rebuild's target: ALL PRIVILEGES, said in the text, not granted in a block.
    ["marina_backup", BACKUP_NEEDS, ["ALL PRIVILEGES"]],
    ["repl", [{ anyOf: ["REPLICATION SLAVE"], on: "*.*", reason: "replicas" }], []],
  ])("grants %s what it needs", (user, needs, left) => {
    expect(grants.has(user), user).toBe(true);
    expect(missing(user, needs)).toEqual(left);
  });

  it("names every needed privilege in a table", () => {
    const all = [...MONITOR_NEEDS, ...EXECUTOR_NEEDS, ...BACKUP_NEEDS, ...FLASHBACK_NEEDS];
    for (const n of [...all, ...BINLOG_SAVE_NEEDS]) {
      expect(doc, n.anyOf[0]).toContain(`\`${n.anyOf[0]}`);
    }
  });
});
