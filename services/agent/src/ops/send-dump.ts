import { MarinaError } from "@marina/contracts";
import { compressor, connectStream, dumpStream, SOCAT_CONNECTED } from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import type { StreamStage } from "../host/backend.js";
import { replicaThreads } from "../host/local-sql.js";
import { type LongAction, type OpContext, phase, requestField } from "./context.js";
import type { OpRecord } from "./registry.js";
import type { SendSpec } from "./send-backup.js";
import { watchStream } from "./stream-watch.js";

/**
 * Donor of a logical rebuild: `mariadb-dump --all-databases --single-transaction --gtid
 * --master-data=1 … | [compress] | socat TCP:<to>` (`--databases …` instead when the
 * request names some: a multi-source provisioning). socat connects first; the dump starts
 * only once the receiver accepted. A single-transaction dump leaves replication running
 * (only a brief global read lock while it reads the position), so there is nothing to
 * restore afterwards.
 */
export async function sendDump(
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
  const stages: StreamStage[] = [
    {
      inv: dumpStream({
        defaultsFile: server.defaultsFile,
        socket: server.socket,
        user: ctx.cfg.backup.user,
        databases: spec.databases,
        positionAsComment: spec.addSource === true,
      }),
      env: ctx.backupEnv,
    },
  ];
  const comp = compressor(spec.compression);
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
  // The guard: the server runs and answers (a dump needs it).
  await phase(rec, timings, "guard", () => replicaThreads(host.account));
  const totalBytes = await host.treeSize(server.datadir).catch(() => null);
  const pipeline = await phase(rec, timings, "connecting", () =>
    host.startStream(stages, {
      stage: stages.length - 1,
      pattern: SOCAT_CONNECTED,
      timeoutMs: t.connectMs,
      what: "socat connect",
    }),
  );
  rec.phase = "streaming";
  ctx.log.info({ to: spec.to, compression: spec.compression.kind }, "streaming a logical dump");

  const done = (async (): Promise<Record<string, unknown>> => {
    try {
      const stream = await watchStream(pipeline, rec, {
        connected: Promise.resolve(true),
        connectMs: t.connectMs,
        idleMs: t.idleMs,
        streamMs: t.streamMs,
        progressMs: ctx.cfg.progressMs,
        // The datadir size only bounds a dump's size: no ETA from it.
        totalBytes: null,
        onProgress: (bytes, rate) =>
          ctx.publishProgress({
            host: ctx.cfg.host,
            opId: rec.opId,
            server: server.name,
            action: "send-backup",
            phase: rec.phase,
            bytes,
            totalBytes: null,
            bytesPerSecond: Math.round(rate),
            etaMs: null,
            elapsedMs: ctx.now() - rec.startedAt,
          }),
      });
      timings.streaming = stream.ms;
      return {
        action: "send-backup",
        method: "logical",
        server: server.name,
        bytes: stream.bytes,
        datadirBytes: totalBytes,
        timings,
      };
    } catch (err) {
      if (pipeline.running()) await pipeline.kill();
      throw err;
    }
  })();
  done.catch(() => {});
  return {
    accepted: {
      action: "send-backup",
      method: "logical",
      server: server.name,
      state: "running",
      phase: "streaming",
    },
    done,
  };
}
