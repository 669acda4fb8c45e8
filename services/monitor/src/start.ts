// startMonitor: everything main.ts does except reading argv and handling signals, so the
// sandbox demo and tests can run a monitor in-process.
//
// Order: the app (and HTTP, if asked) starts at once, so /healthz answers 503 while NATS is
// unreachable; probing starts only once NATS is connected and the stream exists. Probing
// with nowhere to publish would produce nothing anyone could read.
import type { MarinaConfig } from "@marina/contracts";
import type { Connector, PrivilegeCheckResult } from "@marina/mariadb";
import {
  connectNatsWithRetry,
  jetStreamNotReady,
  type Logger,
  listenHttp,
  NatsAborted,
  natsCredentials,
  untilJetStreamReady,
} from "@marina/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Bus, buildApp, type MonitorApp } from "./app.js";
import { selectClusters } from "./clusters.js";
import { NatsBus } from "./nats.js";
import {
  defaultHealthStream,
  type EnsureResult,
  ensureHealthStream,
  type HealthStreamOptions,
} from "./stream.js";

export interface StartMonitorOptions {
  readonly config: MarinaConfig;
  readonly monitorId: string;
  readonly log: Logger;
  /** Overrides config.nats.servers. */
  readonly natsUrl?: string | readonly string[];
  /** Where to serve /healthz and /metrics; config.http by default; false for none. */
  readonly http?: { readonly host: string; readonly port: number } | false;
  readonly stream?: Partial<HealthStreamOptions>;
  readonly env?: NodeJS.ProcessEnv;
  readonly connect?: Connector;
  /** Probe only these clusters (names from the config; an unknown one is a bad config). */
  readonly clusters?: readonly string[];
  /** Node's process metrics on /metrics too (main.ts: the monitor's own process). */
  readonly defaultMetrics?: boolean;
}

export interface MonitorHandle {
  readonly app: MonitorApp;
  /** Resolves once NATS is connected, the stream ensured and the probers started. */
  readonly ready: Promise<void>;
  /** The start-up privilege check (run at once, NATS or not); never rejects. */
  readonly privileges: Promise<PrivilegeCheckResult[]>;
  /** `http://host:port` when HTTP is served. */
  readonly httpUrl: string | null;
  nats(): NatsConnection | null;
  close(): Promise<void>;
}

/** A Bus that is not connected until NATS is; the app can be built before NATS answers. */
class LateBus implements Bus {
  inner: NatsBus | null = null;
  publish(subject: string, data: Uint8Array): void {
    if (!this.inner) throw new Error("NATS is not connected yet");
    this.inner.publish(subject, data);
  }
  isConnected(): boolean {
    return this.inner?.isConnected() ?? false;
  }
}

export async function startMonitor(o: StartMonitorOptions): Promise<MonitorHandle> {
  const { log } = o;
  const config = selectClusters(o.config, o.clusters);
  const bus = new LateBus();
  // Throws (MarinaError naming the variable) before anything starts when a secret is missing.
  const app = buildApp({
    bus,
    log,
    config,
    monitorId: o.monitorId,
    ...(o.env ? { env: o.env } : {}),
    ...(o.connect ? { connect: o.connect } : {}),
    ...(o.defaultMetrics ? { defaultMetrics: true } : {}),
  });
  const credentials = natsCredentials(config.nats, o.env, "monitor");
  // In the background: warnings name what the account lacks; a server down is skipped.
  const privileges = app.checkPrivileges();

  const httpAt = o.http === undefined ? config.http : o.http === false ? undefined : o.http;
  let httpUrl: string | null = null;
  if (httpAt) {
    httpUrl = await listenHttp(app.http, httpAt);
    log.info({ url: httpUrl }, "http listening");
  }

  const abort = new AbortController();
  let nc: NatsConnection | null = null;
  const servers =
    o.natsUrl === undefined
      ? config.nats.servers
      : typeof o.natsUrl === "string"
        ? [o.natsUrl]
        : [...o.natsUrl];
  const stream = { ...defaultHealthStream, ...o.stream };

  let streamRetry: Promise<void> | undefined;
  const ready = (async () => {
    nc = await connectNatsWithRetry({
      servers,
      name: `marina-monitor-${o.monitorId}`,
      log,
      signal: abort.signal,
      ...credentials,
    });
    if (abort.signal.aborted) {
      await nc.close();
      throw new NatsAborted();
    }
    bus.inner = new NatsBus(nc, log);
    const conn = nc;
    const ensure = () => ensureHealthStream(conn, stream, config.nats.replicas, log);
    let result: EnsureResult | "failed";
    try {
      result = await ensure();
    } catch (err) {
      // Live subscribers still get every message; only history is missing. Say so loudly.
      result = "failed";
      log.error(
        { err, stream: stream.name },
        "cannot create or update the health stream; history may be missing",
      );
      // A JetStream that was not ready (a NATS cluster electing its meta leader) is waited
      // for in the background, while probing goes on.
      if (jetStreamNotReady(err)) {
        streamRetry = untilJetStreamReady(stream.name, ensure, log, abort.signal).then(
          (later) => log.info({ stream: stream.name, result: later }, "health stream ensured"),
          () => {},
        );
      }
    }
    if (result !== "failed") log.info({ stream: stream.name, result }, "health stream ensured");
    app.start();
  })();
  // close() may run before ready settles; callers that never await ready must not crash.
  ready.catch(() => {});

  let closing: Promise<void> | undefined;
  return {
    app,
    ready,
    privileges,
    httpUrl,
    nats: () => nc,
    close() {
      closing ??= (async () => {
        abort.abort();
        await ready.catch(() => {});
        await streamRetry; // its wait ends at the abort; an attempt in flight is let finish
        await app.stop();
        if (nc && !nc.isClosed()) {
          // Flush what the probers published last; drain can hang on a dead server.
          await Promise.race([nc.flush().catch(() => {}), delay(1000)]);
          await nc.close().catch(() => {});
        }
        log.info("monitor stopped");
      })();
      return closing;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
