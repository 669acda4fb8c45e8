import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentServerConfig } from "../config.js";
import { replicaThreads, restartSqlThreads } from "../host/local-sql.js";
import type { OpContext } from "./context.js";

// Replication SQL threads held stopped around a backup (send-backup's donor, take-backup):
// a marker in tmpDir is written before anything is stopped and removed once they run again,
// so an agent that dies meanwhile starts them at its next start (recoverInterruptedSends).

/** Written before a backup stops anything; found at agent start-up if the agent died. */
interface HoldMarker {
  readonly opId: string;
  readonly server: string;
  /** Replication connections whose SQL thread ran before the backup. */
  readonly sqlRunning: readonly string[];
}

const markerPath = (ctx: OpContext, server: string) =>
  join(ctx.cfg.tmpDir, `${server}.sending.json`);

/** Records the connections to start again, before any is stopped. */
export async function writeHoldMarker(
  ctx: OpContext,
  opId: string,
  server: string,
  sqlRunning: readonly string[],
): Promise<void> {
  await mkdir(ctx.cfg.tmpDir, { recursive: true, mode: 0o700 });
  const marker: HoldMarker = { opId, server, sqlRunning };
  await writeFile(markerPath(ctx, server), JSON.stringify(marker), { mode: 0o600 });
}

export const removeHoldMarker = (ctx: OpContext, server: string) =>
  rm(markerPath(ctx, server), { force: true });

/** Of `names`, the connections whose SQL thread is not running now (absent ones skipped). */
export async function stillStopped(
  ctx: OpContext,
  server: AgentServerConfig,
  names: readonly string[],
): Promise<string[]> {
  const rows = await replicaThreads(ctx.host(server).account);
  return names.filter((n) => rows.some((r) => r.connection === n && !r.sqlRunning));
}

/** Pause between restart attempts (tests shorten it). */
export const retryPause = { ms: 500 };

/**
 * Starts the SQL threads that ran before a backup and are stopped now, and checks they run.
 * Retries briefly: right after a killed mariadb-backup the server may still hold its backup
 * locks. Idempotent: a running thread is left alone.
 */
export async function restoreReplication(
  ctx: OpContext,
  server: AgentServerConfig,
  sqlRunning: readonly string[],
): Promise<string[]> {
  if (sqlRunning.length === 0) return [];
  let lastErr: unknown;
  const started = new Set<string>();
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      for (const n of await restartSqlThreads(ctx.host(server).account, sqlRunning)) {
        started.add(n);
      }
      const left = await stillStopped(ctx, server, sqlRunning);
      if (left.length === 0) return [...started];
      lastErr = new Error(`SQL thread not running after START: ${left.join(", ")}`);
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, retryPause.ms * (attempt + 1)));
  }
  throw lastErr;
}

/**
 * Restores replication on servers whose backup was interrupted by an agent crash, from the
 * markers left in tmpDir. Called once at start-up; a marker stays until its threads run.
 */
export async function recoverInterruptedSends(
  ctx: OpContext,
  servers: readonly AgentServerConfig[],
): Promise<void> {
  const files = await readdir(ctx.cfg.tmpDir).catch(() => [] as string[]);
  for (const f of files.filter((n) => n.endsWith(".sending.json"))) {
    const path = join(ctx.cfg.tmpDir, f);
    try {
      const m = JSON.parse(await readFile(path, "utf8")) as HoldMarker;
      const server = servers.find((s) => s.name === m.server);
      if (server) {
        const started = await restoreReplication(ctx, server, m.sqlRunning);
        ctx.log.warn(
          { server: m.server, opId: m.opId, started },
          "restored replication after an interrupted backup",
        );
      }
      await rm(path, { force: true });
    } catch (err) {
      ctx.log.error({ err, file: f }, "could not recover an interrupted backup");
    }
  }
}
