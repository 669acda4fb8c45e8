// The start-up privilege check against real servers: the lab's `marina` account (the
// executor grants of docs/security.md) lacks nothing required; an account without
// READ_ONLY ADMIN is named in a warning, with the reason and the GRANT, per server; a server
// that is down does not stop the executor from starting; and a step the account may not
// run fails with MISSING_PRIVILEGE. With clusters[].saveBinlogs the check asks for the
// save's grants too.

import type { MarinaConfig } from "@marina/contracts";
import { freePort, type MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { memoryLogger } from "@marina/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSession } from "../src/db.js";
import { DEFAULT_OPTIONS } from "../src/handler.js";
import { checkExecutorPrivileges } from "../src/privileges.js";
import { type RunningExecutor, startExecutor } from "../src/start.js";
import { resolveClusters } from "../src/targets.js";
import { ExecClient, labConfig } from "./exec-client.js";

// The executor's grants without READ_ONLY ADMIN (SUPER would not bring it back: 10.11).
const SHORT_GRANTS =
  "REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, CONNECTION ADMIN, RELOAD, PROCESS, SLAVE MONITOR";

/** The service's log, read back. */
function capture() {
  const { log, records } = memoryLogger("info");
  return { lines: records, log };
}

/** Creates `user` with `grants` on one node, unlogged (each node gets its own). */
async function createUser(node: MariaNode, user: string, grants: string): Promise<void> {
  const conn = await node.connect();
  try {
    await conn.query("SET SESSION sql_log_bin=0");
    for (const host of ["%", "localhost"]) {
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY 'short-pw'`);
      await conn.query(`GRANT ${grants} ON *.* TO '${user}'@'${host}'`);
    }
  } finally {
    await conn.end();
  }
}

function withAdmin(config: MarinaConfig, user: string): MarinaConfig {
  const [c] = config.clusters;
  return {
    ...config,
    clusters: [{ ...c!, admin: { user, password: { value: "short-pw" } } }],
  };
}

describe("the executor's start-up privilege check", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 2 });
  let ghostPort = 0;
  let executor: RunningExecutor | undefined;
  let client: ExecClient | undefined;

  beforeAll(async () => {
    ghostPort = await freePort();
    for (const n of getLab().nodes) await createUser(n, "marina_short", SHORT_GRANTS);
  });

  afterAll(async () => {
    await client?.close();
    await executor?.close();
  });

  it("finds nothing required missing for the lab's marina account (the documented grants)", async () => {
    const lab = getLab();
    const { lines, log } = capture();
    const results = await checkExecutorPrivileges({
      clusters: resolveClusters(labConfig(lab), {}),
      connect: connectSession,
      options: DEFAULT_OPTIONS,
      log,
    });
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.kind).toBe("checked");
      if (r.kind !== "checked") continue;
      expect(r.report.account).toBe("'marina'@'%'");
      expect(r.report.missing).toEqual([]);
      // The optional grant the lab leaves out: privileged sessions cannot be spared.
      expect(r.report.optional.map((m) => `${m.privilege} ON ${m.on}`)).toEqual([
        "SELECT ON mysql.*",
      ]);
    }
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it("with saveBinlogs, names REPLICATION SLAVE and BINLOG MONITOR (the documented grants lack them)", async () => {
    const lab = getLab();
    const { lines, log } = capture();
    const base = labConfig(lab);
    const config = {
      ...base,
      clusters: base.clusters.map((c) => ({
        ...c,
        saveBinlogs: {
          dir: "/tmp/x",
          dumpServerId: 4294967001,
          program: "mariadb-binlog",
          timeoutMs: 60_000,
        },
      })),
    };
    const results = await checkExecutorPrivileges({
      clusters: resolveClusters(config, {}),
      connect: connectSession,
      options: DEFAULT_OPTIONS,
      log,
    });
    expect(results).toHaveLength(2);
    for (const r of results) {
      if (r.kind !== "checked") throw new Error(`${r.server} not checked`);
      expect(r.report.missing.map((m) => m.privilege)).toEqual([
        "REPLICATION SLAVE",
        "BINLOG MONITOR",
      ]);
    }
    const warnings = lines.filter((l) => l.level === 40 && l.code === "MISSING_PRIVILEGE");
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.grant).toEqual([
      "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'marina'@'%'",
    ]);
  });

  it("names a missing READ_ONLY ADMIN per server, starts anyway with a server down, and the step fails with MISSING_PRIVILEGE", async () => {
    const lab = getLab();
    const { lines, log } = capture();
    const config = withAdmin(
      labConfig(lab, { extraServers: [{ name: "ghost", host: "127.0.0.1", port: ghostPort }] }),
      "marina_short",
    );
    executor = await startExecutor({ config, id: "e-privileges", log });
    const results = await executor.privileges;
    expect(results.map((r) => [r.server, r.kind])).toEqual([
      ["db1", "checked"],
      ["db2", "checked"],
      ["ghost", "unreadable"],
    ]);

    const warnings = lines.filter((l) => l.level === 40 && l.code === "MISSING_PRIVILEGE");
    expect(warnings.map((w) => w.server).sort()).toEqual(["db1", "db2"]);
    for (const w of warnings) {
      expect(w).toMatchObject({
        cluster: "main",
        account: "'marina_short'@'%'",
        missing: [{ privilege: "READ_ONLY ADMIN", on: "*.*" }],
        grant: ["GRANT READ_ONLY ADMIN ON *.* TO 'marina_short'@'%'"],
      });
      expect(w.msg).toMatch(
        new RegExp(
          `^the executor's MariaDB account 'marina_short'@'%' on ${w.server} lacks READ_ONLY ADMIN: SET GLOBAL read_only`,
        ),
      );
    }
    // The server that is down: noted, not a warning, and the executor serves.
    expect(lines.find((l) => l.server === "ghost")).toMatchObject({
      level: 30,
      user: "marina_short",
    });
    expect(lines.some((l) => l.msg === "executor started")).toBe(true);
    // No line carries SHOW GRANTS text (it may hold a password hash).
    expect(JSON.stringify(lines)).not.toMatch(/IDENTIFIED BY|PASSWORD '\*/);

    client = await ExecClient.connect(lab.nats!.url);
    const denied = await client.exec("db2", { kind: "set-read-only", readOnly: false });
    expect(denied.ok).toBe(false);
    expect(denied.error).toMatchObject({ code: "MISSING_PRIVILEGE", retryable: false });
    expect(denied.error?.message).toMatch(/1227.*READ_ONLY ADMIN/);
    // What the account may do, it does.
    expect(await client.ok("db2", { kind: "inspect" })).toMatchObject({ readOnly: true });
  });
});
