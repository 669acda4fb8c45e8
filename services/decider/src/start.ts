// startDecider: the decider over a real NATS connection — the events and history streams
// and the KV buckets are ensured, then the app is built and started. main.ts adds argv, the logger,
// the connection (@marina/runtime's connectNatsWithRetry) and signals; the sandbox and
// tests call this in-process.
import {
  type ApiSettings,
  LEASE_BUCKET,
  type MarinaConfig,
  PRESENCE_BUCKET,
  STATE_BUCKET,
} from "@marina/contracts";
import {
  buildMetricsServer,
  type HttpAddress,
  type Logger,
  listenHttp,
  systemClock,
  untilJetStreamReady,
} from "@marina/runtime";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type AppDeps, buildApp, DEFAULT_LEASE_TTL_MS, type DeciderApp } from "./app.js";
import type { Clock } from "./clock.js";
import { buildHttpApi } from "./http/app.js";
import { readApiTls } from "./http/auth.js";
import { natsPublishedReader } from "./http/stream-reader.js";
import { ensureBucket } from "./jetstream-setup.js";
import { natsBus } from "./nats-bus.js";
import { presenceBucketOf } from "./presence-bucket.js";
import { ensureEventsStream, ensureHistoryStream } from "./streams.js";

export interface StartDeciderOptions
  extends Pick<
    AppDeps,
    | "renewEveryMs"
    | "tickMs"
    | "coreOptions"
    | "record"
    | "sharing"
    | "stateWriteFormat"
    | "formats"
    | "defaultMetrics"
  > {
  config: MarinaConfig;
  /** This decider's name, unique among deciders (e.g. `decider-a`). */
  id: string;
  /** The caller's connection; the decider does not close it. */
  nc: NatsConnection;
  log: Logger;
  /** Lease TTL: a dead leader is replaced after about this long. */
  leaseTtlMs?: number | undefined;
  /** Wall-clock milliseconds (Date.now by default). */
  now?: () => number;
  /** Stops waiting for a JetStream that is not ready yet (main's shutdown signal). */
  signal?: AbortSignal;
  /** The HTTP API (docs/http-api.md): config.api by default; false for none. */
  api?: ApiSettings | false;
  /** Where `{ env: NAME }` API tokens are looked up; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * /healthz and /metrics on a port of their own (the API serves /metrics too):
   * config.deciderMetrics by default; false for none.
   */
  metricsHttp?: HttpAddress | false;
}

/** A started decider, with the address of its HTTP API when it serves one. */
export interface RunningDecider extends DeciderApp {
  /** `http://host:port` of the HTTP API, or undefined. */
  readonly apiUrl: string | undefined;
  /** `http://host:port` of the metrics-only server (`metricsHttp`), or undefined. */
  readonly metricsUrl: string | undefined;
}

export async function startDecider(o: StartDeciderOptions): Promise<RunningDecider> {
  const ttl = o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const ready = <T>(what: string, setup: () => Promise<T>) =>
    untilJetStreamReady(what, setup, o.log, o.signal);
  // Streams and buckets get `nats.replicas` (auto: 3 on a NATS cluster of 3 or more).
  const replicas = o.config.nats.replicas;
  await ready("events stream", async () =>
    ensureEventsStream(await jetstreamManager(o.nc), { replicas, info: o.nc.info, log: o.log }),
  );
  await ready("history stream", async () =>
    ensureHistoryStream(await jetstreamManager(o.nc), o.config.history, {
      replicas,
      info: o.nc.info,
      log: o.log,
    }),
  );
  // A KV request must end well within the lease: a renewal stuck for nats.js's default 5 s
  // on a lost NATS node would let a 3 s lease lapse while a retry could have gone through.
  // Never above nats.js's default either: a lost reply is then retried within seconds.
  const kvTimeoutMs = Math.min(5_000, Math.max(500, Math.floor(ttl / 3)));
  const bucket = (name: string, opts: { ttl?: number; history: number }) =>
    ready(`${name} bucket`, () => ensureBucket(o.nc, name, opts, replicas, o.log, kvTimeoutMs));
  // At once: a new bucket waits a moment before it is read (ensureBucket), so the waits overlap.
  const [leases, state, presenceKv] = await Promise.all([
    bucket(LEASE_BUCKET, { ttl, history: 1 }),
    bucket(STATE_BUCKET, { history: 1 }),
    bucket(PRESENCE_BUCKET, { ttl, history: 1 }),
  ]);
  const presence = presenceBucketOf(presenceKv);
  const clock: Clock = o.now ? { ...systemClock, now: o.now } : systemClock;
  const app = buildApp({
    bus: natsBus(o.nc),
    kv: { leases, state, presence },
    clock,
    log: o.log,
    config: o.config,
    id: o.id,
    leaseTtlMs: ttl,
    ...(o.renewEveryMs !== undefined ? { renewEveryMs: o.renewEveryMs } : {}),
    ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
    ...(o.sharing ? { sharing: o.sharing } : {}),
    ...(o.coreOptions ? { coreOptions: o.coreOptions } : {}),
    ...(o.record ? { record: o.record } : {}),
    ...(o.stateWriteFormat !== undefined ? { stateWriteFormat: o.stateWriteFormat } : {}),
    ...(o.formats ? { formats: o.formats } : {}),
    ...(o.defaultMetrics ? { defaultMetrics: true } : {}),
  });
  const api = o.api === undefined ? o.config.api : o.api === false ? undefined : o.api;
  // Built before anything starts: a bad token setting stops the start, naming it.
  const http = api
    ? buildHttpApi({
        settings: api,
        clusters: o.config.clusters,
        commands: app,
        reader: natsPublishedReader(o.nc),
        deciderId: o.id,
        leading: () => app.leading(),
        log: o.log.child({ http: "api" }),
        monotonic: () => clock.monotonic(),
        ...(o.env ? { env: o.env } : {}),
        ...(api.tls ? { tls: readApiTls(api.tls) } : {}),
        metrics: app.metrics.registry,
      })
    : undefined;
  const metricsAt =
    o.metricsHttp === undefined
      ? o.config.deciderMetrics
      : o.metricsHttp === false
        ? undefined
        : o.metricsHttp;
  const metricsServer = metricsAt
    ? buildMetricsServer({
        registry: app.metrics.registry,
        health: () => ({ ok: true, decider: o.id, leading: app.leading() }),
      })
    : undefined;
  app.start();
  let apiUrl: string | undefined;
  let metricsUrl: string | undefined;
  try {
    if (metricsServer && metricsAt) metricsUrl = await listenHttp(metricsServer, metricsAt);
    if (http && api) apiUrl = await listenHttp(http.server, api, api.tls ? "https" : "http");
  } catch (err) {
    await metricsServer?.close();
    await http?.server.close();
    await app.close();
    throw err;
  }
  if (metricsUrl) o.log.info({ url: metricsUrl }, "metrics listening");
  if (apiUrl && api) {
    o.log.info(
      {
        url: apiUrl,
        tokens: api.tokens.length,
        openReads: api.openReads,
        clientCertificates: api.tls?.clients.length ?? 0,
      },
      "HTTP API listening",
    );
  }
  return {
    ...app,
    apiUrl,
    metricsUrl,
    async close(release) {
      await metricsServer?.close();
      await http?.server.close();
      await app.close(release);
    },
  };
}
