import { constants, copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { MarinaError } from "@marina/contracts";
import { prepareBackup } from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import { TRASH_PREFIX } from "../host/datadir.js";
import { type LocalAccount, setReadOnly } from "../host/local-sql.js";
import { budget, type OpContext, phase, withTimeout } from "./context.js";
import type { OpRecord } from "./registry.js";
import { backupRoot, listBackups } from "./take-backup.js";

/**
 * Replaces the server's datadir with one of its kept backups: stop, empty (a marker records
 * the unfinished restore, so start-server refuses the datadir until it is whole), copy the
 * backup's files in, `--prepare` there (the kept backup stays unprepared, usable again),
 * chown, start, then `read_only=1` over the local socket before the reply (whatever its
 * my.cnf says); its replication is the caller's to set up again. On a failure after the
 * datadir was emptied, the marker says `failed` and the server stays stopped. `limitMs`
 * bounds the whole: each phase gets at most what is left of it (the copy stops between two
 * files), so the agent answers within it.
 */
export async function restoreBackup(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  id: string,
  limitMs: number,
): Promise<Record<string, unknown>> {
  const timings: Record<string, number> = {};
  const host = ctx.host(server);
  const t = ctx.cfg.timeouts;
  const left = budget(ctx.now, limitMs);
  const signal = rec.controller.signal;
  const [manifest] = await listBackups(ctx, server, id);
  const data = join(backupRoot(ctx, server, host), id, "data");
  await phase(rec, timings, "guard", () => host.guardDatadir(server.datadir));
  await phase(rec, timings, "stop", () => {
    const ms = left(t.serviceMs, "stop");
    return withTimeout(host.control.stop(signal), ms, "stop");
  });
  const marker = (state: "restoring" | "failed", reason: string | null) =>
    host.writeRebuildMarker(server.datadir, {
      opId: rec.opId,
      state,
      reason,
      startedAt: new Date(rec.startedAt).toISOString(),
      updatedAt: new Date(ctx.now()).toISOString(),
    });
  let emptied = false;
  try {
    await phase(rec, timings, "empty", async () => {
      emptied = true;
      // Before the first entry moves (a crash mid-way leaves a marked datadir), and again
      // once emptied (the first marker went to the trash with everything else).
      await marker("restoring", null);
      const cleared = await host.clearDatadir(server.datadir, `${TRASH_PREFIX}${rec.opId}`);
      await marker("restoring", null);
      await cleared.deleted;
    });
    await phase(rec, timings, "copy", () => copyTree(data, server.datadir, left));
    await phase(rec, timings, "prepare", () =>
      host.run(prepareBackup(server.datadir, server.defaultsFile), {
        timeoutMs: left(t.prepareMs, "prepare"),
        signal,
      }),
    );
    await phase(rec, timings, "chown", () => {
      const ms = left(t.serviceMs, "chown");
      return withTimeout(
        host.chownTree(server.datadir, server.osUser, server.osGroup),
        ms,
        "chown",
      );
    });
    await host.removeRebuildMarker(server.datadir);
    emptied = false;
    await phase(rec, timings, "start", async () => {
      const ms = left(t.serviceMs, "start");
      await withTimeout(host.control.start(signal), ms, "start");
      await readOnlyAfterStart(host.account, left(t.serviceMs, "read_only"));
    });
    return {
      action: "restore-backup",
      server: server.name,
      id,
      readOnly: true,
      gtidSlavePos: manifest!.gtidSlavePos,
      bytes: manifest!.bytes,
      timings,
    };
  } catch (err) {
    if (emptied) {
      await marker("failed", (err as Error).message).catch((e) =>
        ctx.log.error({ err: e }, "could not write the failed-restore marker"),
      );
    }
    throw err;
  }
}

/** Copies the backup's tree into the emptied datadir, checking the limit between files. */
async function copyTree(
  from: string,
  to: string,
  left: (capMs: number, what: string) => number,
): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    left(Number.MAX_SAFE_INTEGER, "copy");
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      await mkdir(dst, { mode: 0o750 });
      await copyTree(src, dst, left);
    } else if (e.isFile()) {
      await copyFile(src, dst, constants.COPYFILE_EXCL);
    } else {
      throw new MarinaError("TOOL_FAILED", `${src}: not a file or a directory in a backup`);
    }
  }
}

/** read_only=1 once the server answers on its socket (it may take a moment after start). */
async function readOnlyAfterStart(account: LocalAccount, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await setReadOnly(account);
    } catch (err) {
      if (Date.now() >= end) {
        throw new MarinaError(
          "TOOL_FAILED",
          `the restored server started but read_only=1 could not be set: ${(err as Error).message}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
