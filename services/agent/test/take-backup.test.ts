// take-backup's hold of the replication SQL threads (ops/take-backup.ts, ops/replication-hold.ts)
// over a fake server: the marker written before anything is stopped, the threads started again
// with retries whatever the backup did, the backup's own error kept, REPLICATION_STOPPED naming
// what is still stopped, and the marker replayed at the next agent start.
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentServerConfig } from "../src/config.js";
import type { OpContext } from "../src/ops/context.js";
import type { OpRecord } from "../src/ops/registry.js";

/** The fake server: each connection's SQL thread, and how many STARTs fail before one works. */
const sql = { running: new Map<string, boolean>(), startFailures: 0 };

vi.mock("../src/host/local-sql.js", () => ({
  replicaThreads: async () =>
    [...sql.running].map(([connection, sqlRunning]) => ({
      connection,
      ioRunning: true,
      sqlRunning,
    })),
  pauseSqlThreads: async () => {
    const stopped = [...sql.running].filter(([, r]) => r).map(([n]) => n);
    for (const n of stopped) sql.running.set(n, false);
    return { rows: [], stopped, gtidSlavePos: "1-1-10" };
  },
  restartSqlThreads: async (_a: unknown, names: readonly string[]) => {
    if (sql.startFailures > 0) {
      sql.startFailures -= 1;
      throw new Error("Lock wait timeout exceeded");
    }
    const started = names.filter((n) => sql.running.get(n) === false);
    for (const n of started) sql.running.set(n, true);
    return started;
  },
}));

const { retryPause, recoverInterruptedSends } = await import("../src/ops/replication-hold.js");
const { takeBackup } = await import("../src/ops/take-backup.js");
retryPause.ms = 1;

const server = { name: "db3", defaultsFile: "/etc/my.cnf", socket: "/run/db3.sock" };

async function world(backup: () => Promise<unknown>) {
  const dir = await mkdtemp(join(tmpdir(), "take-backup-"));
  const markers: string[][] = [];
  const ctx = {
    cfg: {
      host: "h-db3",
      backupDir: join(dir, "backups"),
      tmpDir: join(dir, "tmp"),
      timeouts: { streamMs: 60_000 },
      backup: { user: "backup" },
    },
    log: pino({ level: "silent" }),
    now: () => Date.parse("2026-12-05T12:00:00Z"),
    backupEnv: {},
    host: () => ({
      kind: "local",
      account: {},
      run: async () => {
        markers.push(await readdir(join(dir, "tmp")));
        return backup();
      },
      readBackupInfo: async () => null,
      treeSize: async () => 0,
    }),
  } as unknown as OpContext;
  const rec = {
    opId: "op-1",
    controller: new AbortController(),
    phase: "guard",
  } as unknown as OpRecord;
  const take = () => takeBackup(ctx, rec, server as AgentServerConfig, [], 3600_000);
  return { ctx, take, markers, tmp: join(dir, "tmp") };
}

const failing = async () => {
  throw new MarinaError("TOOL_FAILED", "mariadb-backup exited 1");
};

beforeEach(() => {
  sql.running = new Map([
    ["p1", true],
    ["p2", true],
    ["idle", false],
  ]);
  sql.startFailures = 0;
});

describe("take-backup's SQL threads", () => {
  it("a marker naming the running threads exists while the backup runs; removed once they run again", async () => {
    const w = await world(async () => ({}));
    const r = await w.take();
    expect(w.markers).toEqual([["db3.sending.json"]]);
    expect(r.sqlThreadsRestarted).toEqual(["p1", "p2"]);
    expect(await readdir(w.tmp)).toEqual([]);
    expect(sql.running.get("idle")).toBe(false);
  });

  it("a failed backup keeps its own error; the restart is retried until the threads run", async () => {
    sql.startFailures = 2;
    const w = await world(failing);
    await expect(w.take()).rejects.toMatchObject({ code: "TOOL_FAILED" });
    expect([...sql.running]).toEqual([
      ["p1", true],
      ["p2", true],
      ["idle", false],
    ]);
    expect(await readdir(w.tmp)).toEqual([]);
  });

  it("a restart that never works: REPLICATION_STOPPED naming the backup's error and what is still stopped; the marker stays", async () => {
    sql.startFailures = 1000;
    const w = await world(failing);
    const err = await w.take().catch((e: unknown) => e as MarinaError);
    expect(err.code).toBe("REPLICATION_STOPPED");
    expect(err.message).toMatch(/^mariadb-backup exited 1; then replication SQL threads/);
    expect(err.message).toMatch(/still stopped: 'p1', 'p2'/);
    const marker = JSON.parse(await readFile(join(w.tmp, "db3.sending.json"), "utf8"));
    expect(marker.sqlRunning).toEqual(["p1", "p2"]);
    // The next agent start replays the marker.
    sql.startFailures = 0;
    await recoverInterruptedSends(w.ctx, [server as AgentServerConfig]);
    expect(sql.running.get("p1")).toBe(true);
    expect(await readdir(w.tmp)).toEqual([]);
  });
});

describe("the limit a backup or restore request carries", async () => {
  const { budget } = await import("../src/ops/context.js");
  it("each phase gets its own cap or what is left, whichever is less; TIMEOUT once used up", () => {
    let now = 0;
    const left = budget(() => now, 10_000);
    expect(left(60_000, "backup")).toBe(10_000);
    now = 4_000;
    expect(left(1_000, "stop")).toBe(1_000);
    expect(left(60_000, "copy")).toBe(6_000);
    now = 10_000;
    expect(() => left(60_000, "prepare")).toThrow(/prepare: the request's limit of 10000 ms/);
  });
});
