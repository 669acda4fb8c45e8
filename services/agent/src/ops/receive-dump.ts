import { isGtidList, MarinaError } from "@marina/contracts";
import {
  DUMP_POSITION_COMMENT,
  decompressor,
  type Invocation,
  listenStream,
  loadStream,
  SOCAT_LISTENING,
} from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import type { RunningStream, StreamStage } from "../host/backend.js";
import {
  loadedPosition,
  prepareKeptLoad,
  readOnlyOf,
  replicaThreads,
  type WipeOutcome,
  wipeForLoad,
} from "../host/local-sql.js";
import { type LongAction, type OpContext, phase } from "./context.js";
import { candidatePorts, followIncoming, type ReceiveSpec } from "./receive-backup.js";
import type { OpRecord } from "./registry.js";

/**
 * Target of a logical rebuild. The server keeps running. Before the first reply: checks,
 * then the wipe (read-only, replication reset, binlogs reset, gtid_slave_pos emptied,
 * every non-system database dropped), then `socat -u TCP-LISTEN - | [decompress] |
 * mariadb --init-command="SET SESSION sql_log_bin=0"`; the reply carries the port. In the
 * background: the load, then the GTID position the dump set (its `SET GLOBAL
 * gtid_slave_pos`). A truncated dump never reaches that statement: an empty position after
 * the load is a failure, and the server is left as it is (the decider flags it diverged).
 *
 * `addSource`: a source added to a multi-source replica whose connections keep running. The
 * donor dumped with `--master-data=2`, so the load sets no position; the stream passes
 * through the agent just before the load, which reads the position from the dump's
 * `-- SET GLOBAL gtid_slave_pos='…'` comment (near its end). A dump that ends without it
 * was truncated: a failure.
 */
export async function receiveDump(
  ctx: OpContext,
  rec: OpRecord,
  server: AgentServerConfig,
  spec: ReceiveSpec,
): Promise<LongAction> {
  const timings: Record<string, number> = {};
  const host = ctx.host(server);
  const tls = spec.tls ? host.tls : undefined;
  if (spec.tls && !tls) {
    throw new MarinaError("REFUSED", "tls requested but the agent has no tls files configured", {
      path: "payload.request.tls",
    });
  }
  const account = host.account;
  const load: StreamStage = {
    inv: loadStream({
      defaultsFile: server.defaultsFile,
      socket: server.socket,
      user: ctx.cfg.backup.user,
    }),
    env: ctx.backupEnv,
  };
  const dec: Invocation | undefined = decompressor(spec.compression);
  if (tls) await host.checkReadable([tls.cert, tls.key, tls.ca]);
  const ports = await candidatePorts(ctx, host, spec.port);
  // The guard: the server must run (a logical load needs it) — a refusal changes nothing.
  await phase(rec, timings, "guard", () => replicaThreads(account));
  let saved: string | null = null;
  const saveDir = ctx.cfg.saveDir;
  const wiped = spec.addSource
    ? await besideLoad(ctx, rec, account, timings)
    : await (spec.keep ? keptLoad(ctx, rec, account, timings) : wipe());
  async function wipe(): Promise<WipeOutcome> {
    const out = await phase(rec, timings, "wipe", () =>
      wipeForLoad(
        account,
        saveDir
          ? async (binlogs) => {
              saved = await host.saveBinlogs(
                saveDir,
                server.name,
                rec.opId,
                new Date(ctx.now()),
                binlogs,
              );
            }
          : undefined,
      ),
    );
    ctx.log.warn(
      { dropped: out.dropped, replicationReset: out.replicationReset, savedBinlogs: saved },
      "target wiped for a logical load",
    );
    return out;
  }

  let pipeline: RunningStream | undefined;
  let port = 0;
  let stages: StreamStage[] = [];
  await phase(rec, timings, "listening", async () => {
    let lastErr: unknown;
    for (const candidate of ports) {
      const scan = spec.addSource ? { scan: DUMP_POSITION_COMMENT } : {};
      stages = [
        {
          inv: listenStream({ port: candidate, bind: host.listenAddress, tls }),
          ...(dec ? {} : scan),
        },
        ...(dec ? [{ inv: dec, ...scan }] : []),
        load,
      ];
      try {
        pipeline = await host.startStream(stages, {
          stage: 0,
          pattern: SOCAT_LISTENING,
          timeoutMs: 15_000,
          what: "socat listen",
        });
        port = candidate;
        return;
      } catch (err) {
        lastErr = err;
        if (!/Address already in use/i.test((err as Error).message)) break;
      }
    }
    throw lastErr;
  });
  const running = pipeline!;
  rec.phase = "connecting";
  ctx.log.info(
    { port, compression: spec.compression.kind, tls: spec.tls },
    "listening for the donor's dump",
  );

  const done = (async (): Promise<Record<string, unknown>> => {
    try {
      const stream = await followIncoming(ctx, rec, running, server.name);
      timings.streaming = stream.ms;
      const gtid = spec.addSource
        ? (running.scanned(stages.length - 2) ?? "").trim()
        : (await loadedPosition(account)).trim();
      if (gtid === "" || !isGtidList(gtid)) {
        throw new MarinaError(
          "TOOL_FAILED",
          `the dump was loaded without its GTID position (${JSON.stringify(gtid)}): truncated?`,
        );
      }
      return {
        action: "receive-backup",
        method: "logical",
        server: server.name,
        gtid,
        bytes: stream.bytes,
        dropped: wiped.dropped,
        savedBinlogs: saved,
        kept: spec.keep === true,
        port,
        timings,
      };
    } catch (err) {
      if (running.running()) await running.kill();
      throw err;
    }
  })();
  done.catch(() => {});
  return {
    accepted: {
      action: "receive-backup",
      method: "logical",
      server: server.name,
      state: "running",
      phase: "listening",
      address: host.advertiseAddress,
      port,
      savedBinlogs: saved,
    },
    done,
  };
}

/** A load beside running connections: nothing stopped, dropped or reset; the target stays read-only. */
async function besideLoad(
  ctx: OpContext,
  rec: OpRecord,
  account: Parameters<typeof prepareKeptLoad>[0],
  timings: Record<string, number>,
): Promise<WipeOutcome> {
  const ro = await phase(rec, timings, "prepare", () => readOnlyOf(account));
  if (!ro) {
    throw new MarinaError(
      "REFUSED",
      "the target is writable: a source is added only to a read-only replica",
    );
  }
  ctx.log.info("loading a source's dump beside the running connections");
  return { dropped: [], replicationReset: [] };
}

/** A load on top of what the server holds: nothing dropped, nothing reset (see prepareKeptLoad). */
async function keptLoad(
  ctx: OpContext,
  rec: OpRecord,
  account: Parameters<typeof prepareKeptLoad>[0],
  timings: Record<string, number>,
): Promise<WipeOutcome> {
  const { previous } = await phase(rec, timings, "prepare", () => prepareKeptLoad(account));
  ctx.log.info({ previousSlavePos: previous }, "loading on top of what the server holds");
  return { dropped: [], replicationReset: [] };
}
