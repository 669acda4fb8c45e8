// The agent's start-up check of its backup account, over the real socket: the lab's
// marina_backup (docs/security.md) lacks nothing required — rebuild.int.test.ts proves the
// grants by running real backups with it — and only ALL PRIVILEGES, which a logical
// rebuild's target needs, is noted as optional; the executors' account, which lacks BINLOG
// MONITOR, is named in a warning.

import type { MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { memoryLogger } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { AgentConfig } from "../src/config.js";
import { checkBackupPrivileges } from "../src/privileges.js";

/** The service's log, read back. */
function capture() {
  const { log, records } = memoryLogger("info");
  return { lines: records, log };
}

describe("the agent's backup account", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 1, nats: false });

  const check = (user: string, password: string) => {
    const node = getLab().nodes[0] as MariaNode;
    const cfg = AgentConfig.parse({
      host: "h1",
      advertiseAddress: "127.0.0.1",
      backup: { user, password: { value: password } },
      servers: [{ name: node.name, cluster: "main", datadir: node.datadir, socket: node.socket }],
    });
    const out = capture();
    const results = checkBackupPrivileges(
      cfg.servers,
      user,
      (s) => ({ socket: s.socket, user, password, timeoutMs: 5000 }),
      out.log,
      true, // self-fencing on (the default): READ_ONLY ADMIN and CONNECTION ADMIN too
    );
    return { results, lines: out.lines };
  };

  it("marina_backup: nothing required missing; a logical rebuild's target wants ALL", async () => {
    const { backup } = getLab().credentials;
    const { results, lines } = check(backup.user, backup.password);
    const [r] = await results;
    expect(r?.kind).toBe("checked");
    if (r?.kind !== "checked") return;
    expect(r.report).toMatchObject({ account: "'marina_backup'@'localhost'", missing: [] });
    expect(r.report.optional.map((m) => m.privilege)).toEqual(["ALL PRIVILEGES"]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(lines.find((l) => l.level === 30)?.msg).toMatch(
      /does without the optional ALL PRIVILEGES: a logical rebuild onto this server/,
    );
  });

  it("the executors' account as backup account: the warning names BINLOG MONITOR", async () => {
    const { marina } = getLab().credentials;
    const { results, lines } = check(marina.user, marina.password);
    const [r] = await results;
    expect(r?.kind === "checked" && r.report.missing.map((m) => m.privilege)).toEqual([
      "BINLOG MONITOR",
    ]);
    const warn = lines.find((l) => l.level === 40);
    expect(warn).toMatchObject({
      code: "MISSING_PRIVILEGE",
      cluster: "main",
      server: "db1",
      account: "'marina'@'localhost'",
    });
    expect(warn?.msg).toMatch(
      /lacks BINLOG MONITOR \(or SUPER\): mariadb-backup: SHOW MASTER STATUS/,
    );
  });
});
