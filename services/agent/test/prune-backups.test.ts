// prune-backups on the agent, on a real temporary directory through the request handler:
// what is deleted and kept, the dry-run changing nothing, symlinks never followed nor deleted,
// hostile names refused, and no prune while another action runs on the server.
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentResultMessage, BackupPruneResult, envelope, mustParse } from "@marina/contracts";
import { StaticLeaseSource } from "@marina/lease-fence";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeRebuildMarker } from "../src/host/datadir.js";
import { type AgentApp, AgentConfig, type Bus, buildApp } from "../src/index.js";

const bus: Bus = {
  publish: () => {},
  serve: () => ({ stop() {} }),
  flush: async () => {},
  subscribe: () => ({ stop() {} }),
};

const OLD = "20261201T000000Z";
const MID = "20261202T000000Z";
const NEW = "20261203T000000Z";
const LEFTOVER = "20261202T120000Z";
const NOW = Date.parse("2026-12-10T00:00:00Z");

let base: string;
let root: string;
let outside: string;
let app: AgentApp;
let n = 0;

async function backup(id: string, complete = true, bytes = 10): Promise<void> {
  const dir = join(root, id);
  await mkdir(join(dir, "data"), { recursive: true });
  await writeFile(join(dir, "data", "ibdata1"), "x".repeat(bytes));
  if (!complete) return;
  const manifest = {
    version: 1,
    id,
    server: "db1",
    startedAt: "2026-12-01T00:00:00.000Z",
    endedAt: "2026-12-01T00:00:01.000Z",
    gtidSlavePos: "1-1-10",
    domains: { "1": "1-1-10" },
    gtidBinlogPos: "",
    connections: [],
    bytes,
    slaveInfo: "",
  };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "agent-prune-"));
  root = join(base, "backups", "db1");
  outside = join(base, "outside");
  await mkdir(root, { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, "precious"), "keep me");
  const config = AgentConfig.parse({
    host: "h1",
    advertiseAddress: "127.0.0.1",
    backup: { user: "marina" },
    tmpDir: join(base, "tmp"),
    backupDir: join(base, "backups"),
    servers: [
      {
        name: "db1",
        cluster: "main",
        datadir: join(base, "data"),
        socket: join(base, "nowhere.sock"),
      },
    ],
  });
  app = buildApp({
    bus,
    log: pino({ level: "silent" }),
    config,
    clock: { now: () => NOW },
    lease: new StaticLeaseSource({ main: 1 }),
  });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function prune(request: Record<string, unknown>, epoch = 1) {
  n += 1;
  const body = envelope("agent-request", "test", {
    host: "h1",
    opId: `prune-${n}`,
    epoch,
    request: { action: "prune-backups", server: "db1", dryRun: false, ...request },
  });
  const r = mustParse(
    AgentResultMessage,
    JSON.parse(await app.handle("prune-backups", JSON.stringify(body))),
  ).payload;
  return { ...r, result: r.ok ? BackupPruneResult.parse(stripped(r.data)) : null };
}

const stripped = ({ action: _a, cluster: _c, ...rest }: Record<string, unknown>) => rest;
const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);

describe("prune-backups on the agent", () => {
  it("keeps the newest complete ones, deletes older ones and leftovers, counts the bytes", async () => {
    await backup(OLD, true, 100);
    await backup(MID, true, 200);
    await backup(NEW, true, 300);
    await backup(LEFTOVER, false, 50);
    const r = await prune({ keep: 1 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect(ids(r.result!.deleted)).toEqual([LEFTOVER, MID, OLD]);
    expect(ids(r.result!.kept)).toEqual([NEW]);
    // Each deleted directory's files: data/ibdata1 plus its manifest, if any.
    const manifestBytes = (await stat(join(root, NEW, "manifest.json"))).size;
    expect(r.result!.bytesFreed).toBeGreaterThanOrEqual(350 + 2 * (manifestBytes - 5));
    expect((await readdir(root)).sort()).toEqual([NEW]);
    expect(r.data.cluster).toBe("main");
  });

  it("a dry-run answers the same and deletes nothing", async () => {
    await backup(OLD);
    await backup(NEW);
    await backup(LEFTOVER, false);
    const dry = await prune({ keep: 1, dryRun: true });
    expect(dry.result!.dryRun).toBe(true);
    expect(ids(dry.result!.deleted)).toEqual([LEFTOVER, OLD]);
    expect((await readdir(root)).sort()).toEqual([OLD, LEFTOVER, NEW].sort());
    const real = await prune({ keep: 1 });
    expect(ids(real.result!.deleted)).toEqual(ids(dry.result!.deleted));
    expect(real.result!.bytesFreed).toBe(dry.result!.bytesFreed);
  });

  it("olderThanDays spares the recent ones", async () => {
    await backup(OLD);
    await backup(MID);
    await backup(NEW);
    const r = await prune({ keep: 1, olderThanDays: 8.5 });
    expect(ids(r.result!.deleted)).toEqual([OLD]);
    expect(ids(r.result!.kept)).toEqual([NEW, MID]);
  });

  it("a symlink named like a backup is neither followed nor deleted; one inside a backup is unlinked, its target kept", async () => {
    await backup(OLD);
    await backup(NEW);
    // A link to a directory outside that looks like a complete backup.
    await mkdir(join(outside, "fake"));
    await writeFile(join(outside, "fake", "manifest.json"), "{}");
    await symlink(join(outside, "fake"), join(root, MID));
    await symlink(outside, join(root, OLD, "data", "escape"));
    await symlink(join(outside, "precious"), join(root, OLD, "data", "file-link"));
    const r = await prune({ keep: 1 });
    expect(ids(r.result!.deleted)).toEqual([OLD]);
    expect(ids(r.result!.skipped)).toEqual([MID]);
    expect((await lstat(join(root, MID))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(outside, "precious"), "utf8")).toBe("keep me");
    expect(await readdir(join(outside, "fake"))).toEqual(["manifest.json"]);
  });

  it("leaves alone what is not Marina's: other names, files, a manifest.json that is a link", async () => {
    await backup(NEW);
    await mkdir(join(root, "my-notes"));
    await writeFile(join(root, MID), "a file named like an id");
    await mkdir(join(root, OLD));
    await symlink(join(outside, "precious"), join(root, OLD, "manifest.json"));
    const r = await prune({ keep: 1 });
    expect(r.result!.deleted).toEqual([]);
    expect(ids(r.result!.skipped).sort()).toEqual([OLD, MID, "my-notes"].sort());
    expect((await readdir(root)).sort()).toEqual([OLD, MID, NEW, "my-notes"].sort());
  });

  it("refuses a backup directory that is itself a symlink", async () => {
    await rm(root, { recursive: true });
    await mkdir(join(outside, "db1", OLD), { recursive: true });
    await symlink(join(outside, "db1"), root);
    const r = await prune({ keep: 1 });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("REFUSED");
    expect(await readdir(join(outside, "db1"))).toEqual([OLD]);
  });

  it("no backups yet: nothing to do", async () => {
    await rm(root, { recursive: true });
    const r = await prune({ keep: 1 });
    expect(r.result).toMatchObject({ deleted: [], kept: [], skipped: [], bytesFreed: 0 });
  });

  it("refuses a traversal in the server name, keep 0, and a stale epoch, deleting nothing", async () => {
    await backup(OLD);
    await backup(NEW);
    for (const [req, code] of [
      [{ keep: 1, server: "../db1" }, "VALIDATION_FAILED"],
      [{ keep: 1, server: "db1/.." }, "VALIDATION_FAILED"],
      [{ keep: 0 }, "VALIDATION_FAILED"],
      [{ keep: 1, olderThanDays: -1 }, "VALIDATION_FAILED"],
      [{ keep: 1, server: "db9" }, "UNKNOWN_SERVER"],
    ] as const) {
      const r = await prune(req);
      expect(r.error?.code, JSON.stringify(req)).toBe(code);
    }
    expect((await prune({ keep: 1 }, 0)).error?.code).toBe("STALE_EPOCH");
    expect((await readdir(root)).sort()).toEqual([OLD, NEW]);
  });

  it("refuses while a backup or restore of the server runs on the agent", async () => {
    await backup(OLD);
    await backup(NEW);
    await backup(LEFTOVER, false);
    const running = app.registry.begin("backup-x", "take-backup", "db1", NOW);
    const r = await prune({ keep: 1 });
    expect(r.error?.code).toBe("OPERATION_IN_PROGRESS");
    expect((await prune({ keep: 1, dryRun: true })).error?.code).toBe("OPERATION_IN_PROGRESS");
    expect((await readdir(root)).length).toBe(3);
    app.registry.drop(running);
    expect((await prune({ keep: 1 })).ok).toBe(true);
  });

  it("refuses while the datadir holds an unfinished restore (its backups may be needed)", async () => {
    await backup(OLD);
    await backup(NEW);
    await mkdir(join(base, "data"), { recursive: true });
    await writeRebuildMarker(join(base, "data"), {
      opId: "restore-1",
      state: "failed",
      reason: "prepare failed",
      startedAt: "2026-12-09T00:00:00.000Z",
      updatedAt: "2026-12-09T00:01:00.000Z",
    });
    for (const dryRun of [false, true]) {
      const r = await prune({ keep: 1, dryRun });
      expect(r.error?.code).toBe("REFUSED");
      expect(r.error?.message).toMatch(/unfinished restore or rebuild \(opId restore-1, failed\)/);
    }
    expect((await readdir(root)).sort()).toEqual([OLD, NEW]);
  });
});
