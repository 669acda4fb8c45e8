import { type Compression, MarinaError } from "@marina/contracts";
import {
  decompressor,
  extractStream,
  type Invocation,
  listenStream,
  parseBackupPosition,
  prepareBackup,
  SOCAT_ACCEPTED,
  SOCAT_LISTENING,
} from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import type { HostBackend, RunningStream } from "../host/backend.js";
import { TRASH_PREFIX } from "../host/datadir.js";
import { readBinlogs } from "../host/local-sql.js";
import { type LongAction, type OpContext, phase, withTimeout } from "./context.js";
import type { OpRecord } from "./registry.js";
import { type StreamOutcome, watchStream } from "./stream-watch.js";

export interface ReceiveSpec {
  readonly compression: Compression;
  readonly tls: boolean;
  readonly port: number | undefined;
  /** Logical only: load on top of what the server holds (no wipe). */
  readonly keep?: boolean | undefined;
  /** Logical only: a source added beside running connections (position from the dump's comment). */
  readonly addSource?: boolean | undefined;
}

let nextPortOffset = 0;

/** Candidate ports: the requested one, or the configured range starting at a rotating offset. */
export async function candidatePorts(
  ctx: OpContext,
  host: HostBackend,
  requested: number | undefined,
): Promise<number[]> {
  if (requested !== undefined) {
    if (await host.portFree(requested)) return [requested];
    throw new MarinaError("REFUSED", `port ${requested} is in use on ${host.listenAddress}`, {
      path: "payload.request.port",
    });
  }
  const { from, to } = ctx.cfg.transferPorts;
  const n = to - from + 1;
  const out: number[] = [];
  for (let i = 0; i < n && out.length < 3; i++) {
    const port = from + ((nextPortOffset + i) % n);
    if (await host.portFree(port)) out.push(port);
  }
  nextPortOffset = (nextPortOffset + 1) % n;
  if (out.length === 0) {
    throw new MarinaError("REFUSED", `no free transfer port in ${from}-${to}`);
  }
  return out;
}

/**
 * Target of a rebuild. Before the first reply: the datadir guard, TLS check, stop the
 * server, empty the datadir (a marker records the unfinished restore), start the listener.
 * The reply carries the port. In the background: wait for the donor, extract, prepare,
 * chown, remove the marker, start the server, and return the backup's GTID position.
 * On failure after the datadir was emptied, the marker says `failed` with the reason and
 * the server stays stopped: start-server refuses such a datadir.
 */
export async function receiveBackup(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  spec: ReceiveSpec,
): Promise<LongAction> {
  const timings: Record<string, number> = {};
  const t = ctx.cfg.timeouts;
  const signal = rec.controller.signal;
  const host = ctx.host(server);
  const tls = spec.tls ? host.tls : undefined;
  if (spec.tls && !tls) {
    throw new MarinaError("REFUSED", "tls requested but the agent has no tls files configured", {
      path: "payload.request.tls",
    });
  }
  const stages: Invocation[] = [];
  const dec = decompressor(spec.compression);
  // Everything that can be checked is checked before any effect: the argv, the TLS
  // files, a port to listen on, the datadir. A refusal here has changed nothing.
  extractStream(server.datadir);
  if (tls) await host.checkReadable([tls.cert, tls.key, tls.ca]);
  const ports = await candidatePorts(ctx, host, spec.port);
  await phase(rec, timings, "guard", () => host.guardDatadir(server.datadir));
  // With a saveDir, the binlogs (a diverged server's extra events) are copied out before
  // the datadir is emptied. Their names are read while the server runs; the copy is made
  // once it is stopped, so the files are complete. A server already down cannot say where
  // its binlogs are: nothing is saved then (logged).
  const saveDir = ctx.cfg.saveDir;
  const binlogs = saveDir
    ? await readBinlogs(host.account).catch((err: unknown) => {
        ctx.log.warn({ err }, "binlogs not saved: the server did not say where they are");
        return null;
      })
    : null;
  const control = host.control;
  await phase(rec, timings, "stop", () => withTimeout(control.stop(signal), t.serviceMs, "stop"));
  const saved =
    saveDir && binlogs
      ? await host.saveBinlogs(saveDir, server.name, rec.opId, new Date(ctx.now()), binlogs)
      : null;
  if (saved) ctx.log.info({ saved }, "binlogs saved before the datadir is emptied");

  let emptied = false;
  const markFailed = async (reason: string) => {
    if (!emptied) return;
    await host
      .writeRebuildMarker(server.datadir, {
        opId: rec.opId,
        state: "failed",
        reason,
        startedAt: new Date(rec.startedAt).toISOString(),
        updatedAt: new Date(ctx.now()).toISOString(),
      })
      .catch((err) => ctx.log.error({ err }, "could not write the failed-rebuild marker"));
  };

  let pipeline: RunningStream | undefined;
  let port = 0;
  let oldContentsDeleted: Promise<void> = Promise.resolve();
  try {
    await phase(rec, timings, "empty", async () => {
      emptied = true;
      const cleared = await host.clearDatadir(server.datadir, `${TRASH_PREFIX}${rec.opId}`);
      const removed = cleared.removed;
      oldContentsDeleted = cleared.deleted;
      await host.writeRebuildMarker(server.datadir, {
        opId: rec.opId,
        state: "restoring",
        reason: null,
        startedAt: new Date(rec.startedAt).toISOString(),
        updatedAt: new Date(ctx.now()).toISOString(),
      });
      ctx.log.info({ removed }, "datadir emptied");
    });
    await phase(rec, timings, "listening", async () => {
      let lastErr: unknown;
      for (const candidate of ports) {
        stages.length = 0;
        stages.push(listenStream({ port: candidate, bind: host.listenAddress, tls }));
        if (dec) stages.push(dec);
        stages.push(extractStream(server.datadir));
        try {
          pipeline = await host.startStream(
            stages.map((inv) => ({ inv })),
            { stage: 0, pattern: SOCAT_LISTENING, timeoutMs: 15_000, what: "socat listen" },
          );
          port = candidate;
          return;
        } catch (err) {
          lastErr = err;
          if (!/Address already in use/i.test((err as Error).message)) break;
        }
      }
      throw lastErr;
    });
  } catch (err) {
    await markFailed((err as Error).message);
    throw err;
  }
  const running = pipeline!;
  rec.phase = "connecting";
  ctx.log.info(
    { port, compression: spec.compression.kind, tls: spec.tls },
    "listening for the donor",
  );

  const done = (async (): Promise<Record<string, unknown>> => {
    try {
      const stream = await followIncoming(ctx, rec, running, server.name);
      timings.streaming = stream.ms;
      // The old contents were deleted in the background while the stream ran.
      await phase(rec, timings, "empty", () => oldContentsDeleted);
      await phase(rec, timings, "prepare", () =>
        host.run(prepareBackup(server.datadir, server.defaultsFile), {
          timeoutMs: t.prepareMs,
          signal: rec.controller.signal,
        }),
      );
      const binlogInfo = await host.readBackupInfo(server.datadir, "xtrabackup_binlog_info");
      if (binlogInfo === null) {
        throw new MarinaError("TOOL_FAILED", "the backup has no xtrabackup_binlog_info");
      }
      const slaveInfo = await host
        .readBackupInfo(server.datadir, "xtrabackup_slave_info")
        .catch(() => null);
      const position = parseBackupPosition(binlogInfo, slaveInfo);
      const size = await host.treeSize(server.datadir);
      await phase(rec, timings, "chown", () =>
        host.chownTree(server.datadir, server.osUser, server.osGroup),
      );
      // The datadir is complete: from here on it is a normal datadir again.
      await host.removeRebuildMarker(server.datadir);
      emptied = false;
      await phase(rec, timings, "start", () =>
        withTimeout(control.start(rec.controller.signal), t.serviceMs, "start"),
      );
      return {
        action: "receive-backup",
        server: server.name,
        gtid: position.gtid,
        savedBinlogs: saved,
        binlogFile: position.binlogFile,
        binlogPos: position.binlogPos,
        slaveGtid: position.slaveGtid,
        bytes: stream.bytes,
        datadirBytes: size,
        port,
        timings,
      };
    } catch (err) {
      if (running.running()) await running.kill();
      await oldContentsDeleted.catch(() => {});
      await markFailed((err as Error).message);
      throw err;
    }
  })();
  // The caller attaches its own handlers; this keeps an early rejection from being unhandled.
  done.catch(() => {});
  return {
    accepted: {
      action: "receive-backup",
      server: server.name,
      state: "running",
      phase: "listening",
      address: host.advertiseAddress,
      port,
    },
    done,
  };
}

/**
 * The receiving side of a transfer, physical or logical: waits for the donor to connect
 * (socat's first stage says so), then follows the stream to its end — counting the bytes the
 * last stage reads, publishing progress, killing it when the donor never comes, stalls or
 * takes too long.
 */
export function followIncoming(
  ctx: OpContext,
  rec: OpRecord,
  running: RunningStream,
  server: string,
): Promise<StreamOutcome> {
  const t = ctx.cfg.timeouts;
  const connected = running.waitForLine(0, SOCAT_ACCEPTED, t.connectMs);
  void connected.then((ok) => {
    if (ok && rec.phase === "connecting") rec.phase = "streaming";
  });
  return watchStream(running, rec, {
    connected,
    connectMs: t.connectMs,
    idleMs: t.idleMs,
    streamMs: t.streamMs,
    progressMs: ctx.cfg.progressMs,
    totalBytes: null,
    onProgress: (bytes, rate, etaMs) =>
      ctx.publishProgress({
        host: ctx.cfg.host,
        opId: rec.opId,
        server,
        action: "receive-backup",
        phase: rec.phase,
        bytes,
        totalBytes: null,
        bytesPerSecond: Math.round(rate),
        etaMs,
        elapsedMs: ctx.now() - rec.startedAt,
      }),
  });
}
