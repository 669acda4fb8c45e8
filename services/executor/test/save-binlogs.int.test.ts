// The save-binlogs step against a real 10.11 server, run directly (no NATS): two GTID
// domains and rotated files, so the file choice and the decoding's start position meet the
// real mariadb-binlog; the same folder is never written twice; a server without the grants
// fails with the tool's message and leaves no secret behind.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinlogSaveOutcome, MarinaConfig } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSession } from "../src/db.js";
import { DEFAULT_OPTIONS } from "../src/handler.js";
import { saveBinlogs } from "../src/steps/save-binlogs.js";
import { dbTargetOf, resolveClusters } from "../src/targets.js";
import { FakeClock, silentLog } from "./fixtures.js";

async function gtidPos(node: MariaNode): Promise<string> {
  const [r] = await node.query<Array<{ p: string }>>("SELECT @@gtid_binlog_pos AS p");
  return String(r?.p ?? "");
}

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) {
    out[f] = createHash("sha256")
      .update(await readFile(join(dir, f)))
      .digest("hex");
  }
  return out;
}

describe("save-binlogs on MariaDB 10.11", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 1 });
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "marina-bsave-x-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function run(opId: string, clock: FakeClock, forkPoint: string, user = "marina") {
    const lab = getLab();
    const c = lab.credentials;
    const n = lab.nodes[0]!;
    const config = MarinaConfig.parse({
      clusters: [
        {
          name: "main",
          servers: [{ name: n.name, host: n.host, port: n.port }],
          admin: {
            user,
            password: { value: user === "marina" ? c.marina.password : "plain-pw" },
          },
          replication: { user: c.repl.user, password: { value: c.repl.password } },
          saveBinlogs: { dir: join(dir, "saved"), timeoutMs: 60_000 },
        },
      ],
    });
    const cluster = resolveClusters(config, {}).get("main")!;
    const server = cluster.servers.get(n.name)!;
    return (async () => {
      const db = await connectSession(dbTargetOf(cluster, server), DEFAULT_OPTIONS, silentLog);
      try {
        const ctx = {
          db,
          openSession: () =>
            connectSession(dbTargetOf(cluster, server), DEFAULT_OPTIONS, silentLog),
          cluster,
          server,
          source: undefined,
          clock,
          log: silentLog,
          opId,
          executor: "e-test",
        };
        return BinlogSaveOutcome.parse(
          await saveBinlogs(ctx, {
            kind: "save-binlogs",
            extraGtids: "",
            forkPoint,
            timeoutMs: 60_000,
          }),
        );
      } finally {
        await db.close();
      }
    })();
  }

  it("saves from the file holding the fork, decodes from it across two domains, never reuses a folder", async () => {
    const n = getLab().nodes[0]!;
    for (const host of ["%", "localhost"]) {
      await n.query("SET SESSION sql_log_bin=0");
      await n.query(`GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'marina'@'${host}'`);
      await n.query("SET SESSION sql_log_bin=1");
    }
    await n.query("CREATE TABLE IF NOT EXISTS app.t2 (id INT PRIMARY KEY, note VARCHAR(32))");
    await n.query("INSERT INTO app.t2 VALUES (1, 'common-one')");
    await n.query("FLUSH BINARY LOGS");
    await n.query("INSERT INTO app.t2 VALUES (2, 'common-two')");
    // A second domain starts in this file: the next file's initial GTID list names both.
    await n.query("SET SESSION gtid_domain_id=7");
    await n.query("INSERT INTO app.t2 VALUES (3, 'domain-seven')");
    await n.query("SET SESSION gtid_domain_id=0");
    const fork = (await gtidPos(n))
      .split(",")
      .filter((g) => g.startsWith("0-"))
      .join(",");
    await n.query("FLUSH BINARY LOGS");
    await n.query("INSERT INTO app.t2 VALUES (4, 'extra-one')");
    await n.query("FLUSH BINARY LOGS");
    await n.query("INSERT INTO app.t2 VALUES (5, 'extra-two')");
    const logs = await n.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");

    const clock = new FakeClock(Date.parse("2026-12-05T10:00:00.000Z"));
    const first = await run("op-a", clock, fork);
    // The file that starts at the fork (domain 0's last common GTID), and the one after it.
    expect(first.files.map((f) => f.name)).toEqual(logs.slice(-2).map((l) => l.Log_name));
    expect(first.complete).toBe(true);
    expect(first.decodedFrom).toBe("fork");
    // Domain 7, not in the fork point, starts at the first saved file's own position.
    expect(first.startPosition).toMatch(/^0-\d+-\d+,7-\d+-1$/);
    const sql = await readFile(join(first.path, first.decoded.name), "utf8");
    expect(sql).toContain("extra-one");
    expect(sql).toContain("extra-two");
    expect(sql).not.toContain("'common-two'");
    expect(sql).not.toContain("'domain-seven'");
    expect(first.gtids.count).toBe(2);

    // The same operation at the same instant would name the same folder: refused, untouched.
    const before = await digest(first.path);
    await expect(run("op-a", clock, fork)).rejects.toMatchObject({ code: "REFUSED" });
    expect(await digest(first.path)).toEqual(before);
    // Without a fork point: every file, decoded whole.
    clock.t += 1;
    const all = await run("op-b", clock, "");
    expect(all.files.map((f) => f.name)).toEqual(logs.map((l) => l.Log_name));
    expect(all.decodedFrom).toBe("files");
    expect(await digest(first.path)).toEqual(before);
  });

  it("fails with the tool's message without REPLICATION SLAVE, leaving no option file", async () => {
    const n = getLab().nodes[0]!;
    for (const host of ["%", "localhost"]) {
      await n.query("SET SESSION sql_log_bin=0");
      await n.query(`CREATE USER IF NOT EXISTS 'plain'@'${host}' IDENTIFIED BY 'plain-pw'`);
      await n.query(`GRANT BINLOG MONITOR ON *.* TO 'plain'@'${host}'`);
      await n.query("SET SESSION sql_log_bin=1");
    }
    const err = await run("op-c", new FakeClock(), "", "plain").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TOOL_FAILED" });
    expect(String((err as Error).message)).toMatch(
      /mariadb-binlog dump .*REPLICATION SLAVE|denied/i,
    );
    expect((await readdir(tmpdir())).filter((f) => f.startsWith("marina-binlog-"))).toEqual([]);
  });
});
