import { type Compression, MarinaError } from "@marina/contracts";
import {
  backupStream,
  compressor,
  connectStream,
  type Invocation,
  SOCAT_CONNECTED,
} from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import type { RunningStream, StreamStage } from "../host/backend.js";
import { replicaThreads } from "../host/local-sql.js";
import { type LongAction, type OpContext, phase, requestField } from "./context.js";
import type { OpRecord } from "./registry.js";
import { removeHoldMarker, restoreReplication, writeHoldMarker } from "./replication-hold.js";
import { watchStream } from "./stream-watch.js";

export interface SendSpec {
  readonly compression: Compression;
  readonly tls: boolean;
  readonly to: { readonly address: string; readonly port: number };
  /** Logical only: dump these databases instead of all. */
  readonly databases?: readonly string[] | undefined;
  /** Logical only: `--master-data=2` (the position only a comment; see receive-dump.ts). */
  readonly addSource?: boolean | undefined;
}

/**
 * Donor of a rebuild: `mariadb-backup --backup --stream | [compress] | socat TCP:<to>`.
 * socat connects first; mariadb-backup starts only once the receiver accepted, so a
 * refused connection costs nothing. The first reply comes once streaming started; the
 * final result follows on the done subject. Whatever the outcome, replication SQL threads
 * that ran before the backup are started again.
 */
export async function sendBackup(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  spec: SendSpec,
): Promise<LongAction> {
  const timings: Record<string, number> = {};
  const t = ctx.cfg.timeouts;
  const host = ctx.host(server);
  const tls = spec.tls ? host.tls : undefined;
  if (spec.tls && !tls) {
    throw new MarinaError("REFUSED", "tls requested but the agent has no tls files configured", {
      path: "payload.request.tls",
    });
  }
  const scratch = host.scratchDir(rec.opId);
  const stages: StreamStage[] = [
    {
      inv: backupStream({
        defaultsFile: server.defaultsFile,
        socket: server.socket,
        user: ctx.cfg.backup.user,
        tmpDir: scratch,
      }),
      env: ctx.backupEnv,
    },
  ];
  const comp: Invocation | undefined = compressor(spec.compression);
  if (comp) stages.push({ inv: comp });
  stages.push({
    inv: requestField(() =>
      connectStream({
        address: spec.to.address,
        port: spec.to.port,
        connectTimeoutS: Math.ceil(t.connectMs / 1000),
        tls,
      }),
    ),
  });

  const before = await phase(rec, timings, "guard", () => replicaThreads(host.account));
  const sqlRunning = before.filter((r) => r.sqlRunning).map((r) => r.connection);
  const totalBytes = await host.treeSize(server.datadir).catch(() => null);
  await writeHoldMarker(ctx, rec.opId, server.name, sqlRunning);
  await host.makeScratch(scratch);
  const cleanup = async () => {
    await host.removeScratch(scratch).catch(() => {});
    await removeHoldMarker(ctx, server.name).catch(() => {});
  };

  let pipeline: RunningStream;
  try {
    pipeline = await phase(rec, timings, "connecting", () =>
      host.startStream(stages, {
        stage: stages.length - 1,
        pattern: SOCAT_CONNECTED,
        timeoutMs: t.connectMs,
        what: "socat connect",
      }),
    );
  } catch (err) {
    // Locally nothing upstream ran: replication was never touched. A remote pipeline
    // starts as one: mariadb-backup may have stopped the SQL thread before socat failed.
    if (!host.holdsSourcesBack) {
      await restoreReplication(ctx, server, sqlRunning).catch((e: unknown) =>
        ctx.log.error({ err: e }, "could not restore replication on the donor"),
      );
    }
    await cleanup();
    throw err;
  }
  rec.phase = "streaming";
  ctx.log.info({ to: spec.to, compression: spec.compression.kind, totalBytes }, "streaming backup");

  const done = (async (): Promise<Record<string, unknown>> => {
    let failure: unknown;
    let stream: { bytes: number; ms: number } | undefined;
    try {
      stream = await watchStream(pipeline, rec, {
        connected: Promise.resolve(true),
        connectMs: t.connectMs,
        idleMs: t.idleMs,
        streamMs: t.streamMs,
        progressMs: ctx.cfg.progressMs,
        totalBytes,
        onProgress: (bytes, rate, etaMs) =>
          ctx.publishProgress({
            host: ctx.cfg.host,
            opId: rec.opId,
            server: server.name,
            action: "send-backup",
            phase: rec.phase,
            bytes,
            totalBytes,
            bytesPerSecond: Math.round(rate),
            etaMs,
            elapsedMs: ctx.now() - rec.startedAt,
          }),
      });
      timings.streaming = stream.ms;
    } catch (err) {
      failure = err;
      if (pipeline.running()) await pipeline.kill();
    }
    // Replication is restored on every path, success included (belt and braces: on
    // success mariadb-backup has restarted the SQL thread itself, and this is a no-op).
    rec.phase = "restore-replication";
    let restarted: string[] = [];
    try {
      restarted = await restoreReplication(ctx, server, sqlRunning);
      await cleanup();
    } catch (err) {
      ctx.log.error({ err }, "could not restore replication on the donor");
      failure ??= new MarinaError(
        "SQL_ERROR",
        `backup ended but replication could not be restarted: ${(err as Error).message}`,
      );
    }
    if (restarted.length > 0) ctx.log.warn({ restarted }, "restarted replication SQL threads");
    if (failure) throw failure;
    return {
      action: "send-backup",
      server: server.name,
      bytes: stream?.bytes ?? 0,
      totalBytes,
      replicationRestarted: restarted,
      timings,
    };
  })();
  done.catch(() => {});
  return {
    accepted: { action: "send-backup", server: server.name, state: "running", phase: "streaming" },
    done,
  };
}
