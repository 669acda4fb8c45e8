// restore-backup on the agent (ops/restore-backup.ts) over a fake host: the order of what it
// does — the restoring marker before the datadir is emptied, read_only=1 set over the local
// socket once the server started and before the answer — and the limit the request carries.
import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import type { AgentServerConfig } from "../src/config.js";
import type { OpContext } from "../src/ops/context.js";
import type { OpRecord } from "../src/ops/registry.js";

const log: string[] = [];
vi.mock("../src/host/local-sql.js", () => ({
  setReadOnly: async () => void log.push("read_only=1"),
}));
const { restoreBackup } = await import("../src/ops/restore-backup.js");

const ID = "20261205T154210Z";

async function world(now: () => number = () => 0, onEmpty = () => {}) {
  log.length = 0;
  const dir = await mkdtemp(join(tmpdir(), "restore-backup-"));
  const kept = join(dir, "backups", "db3", ID);
  await mkdir(join(kept, "data", "db1"), { recursive: true });
  await writeFile(join(kept, "data", "ibdata1"), "x");
  await writeFile(join(kept, "data", "db1", "t.frm"), "y");
  await writeFile(
    join(kept, "manifest.json"),
    JSON.stringify({
      version: 1,
      id: ID,
      server: "db3",
      startedAt: "2026-12-05T15:42:10.000Z",
      endedAt: "2026-12-05T15:42:12.000Z",
      gtidSlavePos: "1-1-10",
      domains: { "1": "1-1-10" },
      gtidBinlogPos: "",
      connections: [],
      bytes: 2,
      slaveInfo: "",
    }),
  );
  const datadir = join(dir, "data");
  await mkdir(datadir);
  const step = (what: string) => async () => void log.push(what);
  const host = {
    kind: "local",
    account: {},
    guardDatadir: step("guard"),
    control: { stop: step("stop"), start: step("start") },
    writeRebuildMarker: async (_d: string, m: { state: string }) =>
      void log.push(`marker ${m.state}`),
    removeRebuildMarker: step("marker removed"),
    clearDatadir: async () => {
      log.push("empty");
      onEmpty();
      return { removed: 0, deleted: Promise.resolve() };
    },
    run: step("prepare"),
    chownTree: step("chown"),
  };
  const ctx = {
    cfg: {
      host: "h-db3",
      backupDir: join(dir, "backups"),
      timeouts: { serviceMs: 60_000, prepareMs: 60_000 },
    },
    log: pino({ level: "silent" }),
    now,
    host: () => host,
  } as unknown as OpContext;
  const rec = {
    opId: "op-1",
    startedAt: 0,
    controller: new AbortController(),
    phase: "guard",
  } as unknown as OpRecord;
  const server = { name: "db3", datadir, defaultsFile: "/etc/my.cnf" } as AgentServerConfig;
  return {
    restore: (limitMs = 3600_000) => restoreBackup(ctx, rec, server, ID, limitMs),
    datadir,
    rec,
  };
}

describe("restore-backup on the agent", () => {
  it("marks the datadir before emptying it; read_only=1 once started, before the answer", async () => {
    const w = await world();
    const r = await w.restore();
    expect(log).toEqual([
      "guard",
      "stop",
      "marker restoring",
      "empty",
      "marker restoring",
      "prepare",
      "chown",
      "marker removed",
      "start",
      "read_only=1",
    ]);
    expect(r.readOnly).toBe(true);
    expect((await readdir(w.datadir)).sort()).toEqual(["db1", "ibdata1"]);
  });

  it("a limit used up stops it between phases: the datadir stays marked failed", async () => {
    let t = 0;
    // The limit runs out while the datadir is emptied: the copy does not start.
    const w = await world(
      () => t,
      () => {
        t = 5000;
      },
    );
    await expect(w.restore(1000)).rejects.toMatchObject({
      code: "TIMEOUT",
      message: /copy: the request's limit/,
    });
    expect(log.at(-1)).toBe("marker failed");
    expect(log).not.toContain("start");
    expect(await readdir(w.datadir)).toEqual([]);
  });
});
