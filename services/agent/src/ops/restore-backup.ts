import { cp } from "node:fs/promises";
import { join } from "node:path";
import { prepareBackup } from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import { TRASH_PREFIX } from "../host/datadir.js";
import { type OpContext, phase, withTimeout } from "./context.js";
import type { OpRecord } from "./registry.js";
import { backupRoot, listBackups } from "./take-backup.js";

/**
 * Replaces the server's datadir with one of its kept backups: stop, empty (a marker records
 * the unfinished restore, so start-server refuses the datadir until it is whole), copy the
 * backup's files in, `--prepare` there (the kept backup stays unprepared, usable again),
 * chown, start. The server comes back as its my.cnf says (read_only=ON there, as Marina
 * recommends); its replication is the caller's to set up again. On a failure after the
 * datadir was emptied, the marker says `failed` and the server stays stopped.
 */
export async function restoreBackup(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  id: string,
): Promise<Record<string, unknown>> {
  const timings: Record<string, number> = {};
  const host = ctx.host(server);
  const t = ctx.cfg.timeouts;
  const signal = rec.controller.signal;
  const [manifest] = await listBackups(ctx, server, id);
  const data = join(backupRoot(ctx, server, host), id, "data");
  await phase(rec, timings, "guard", () => host.guardDatadir(server.datadir));
  await phase(rec, timings, "stop", () =>
    withTimeout(host.control.stop(signal), t.serviceMs, "stop"),
  );
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
      const cleared = await host.clearDatadir(server.datadir, `${TRASH_PREFIX}${rec.opId}`);
      await cleared.deleted;
      await marker("restoring", null);
    });
    await phase(rec, timings, "copy", () =>
      cp(data, server.datadir, { recursive: true, force: false, errorOnExist: true }),
    );
    await phase(rec, timings, "prepare", () =>
      host.run(prepareBackup(server.datadir, server.defaultsFile), {
        timeoutMs: t.prepareMs,
        signal,
      }),
    );
    await phase(rec, timings, "chown", () =>
      host.chownTree(server.datadir, server.osUser, server.osGroup),
    );
    await host.removeRebuildMarker(server.datadir);
    emptied = false;
    await phase(rec, timings, "start", () =>
      withTimeout(host.control.start(signal), t.serviceMs, "start"),
    );
    return {
      action: "restore-backup",
      server: server.name,
      id,
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
