// startExecutor: everything main.ts does except argv and signals — NATS connected (with
// @marina/runtime's retry policy), the app built and serving — so the sandbox and tests
// can run an executor in-process.
import type { MarinaConfig } from "@marina/contracts";
import type { PrivilegeCheckResult } from "@marina/mariadb";
import {
  connectNatsWithRetry,
  createLogger,
  type HttpAddress,
  type Logger,
  natsCredentials,
  type ServiceHttp,
  serveServiceHttp,
} from "@marina/runtime";
import { type AppDeps, buildApp, type ExecutorApp } from "./app.js";
import { connectSession } from "./db.js";
import { DEFAULT_OPTIONS } from "./handler.js";
import { checkExecutorPrivileges } from "./privileges.js";
import { resolveClusters } from "./targets.js";

export interface StartExecutorOptions {
  readonly config: MarinaConfig;
  /** Executor id, reported in every result. */
  readonly id: string;
  /** Overrides config.nats.servers. */
  readonly natsUrl?: string | string[];
  readonly log?: Logger;
  readonly options?: AppDeps["options"];
  readonly env?: NodeJS.ProcessEnv;
  /** Stops retrying the first NATS connection (startExecutor then rejects). */
  readonly signal?: AbortSignal;
  /** Where to serve /healthz and /metrics: config.executorHttp by default; false for none. */
  readonly http?: HttpAddress | false;
  /** Node's process metrics on /metrics too (main.ts: the executor's own process). */
  readonly defaultMetrics?: boolean;
}

export interface RunningExecutor {
  readonly id: string;
  readonly app: ExecutorApp;
  /** The start-up privilege check (begun before NATS is connected); never rejects. */
  readonly privileges: Promise<PrivilegeCheckResult[]>;
  /** `http://host:port` of /healthz and /metrics, when served. */
  readonly httpUrl: string | null;
  /** Stops serving, lets running steps reply, closes the NATS connection. */
  close(): Promise<void>;
}

/** Connects to NATS and serves every configured cluster's exec subject. */
export async function startExecutor(o: StartExecutorOptions): Promise<RunningExecutor> {
  const log = (o.log ?? createLogger({ service: "executor" })).child({ executor: o.id });
  const env = o.env ?? process.env;
  const servers =
    o.natsUrl === undefined
      ? o.config.nats.servers
      : typeof o.natsUrl === "string"
        ? [o.natsUrl]
        : o.natsUrl;
  // A missing secret fails here, before any connection (a bad config: exit code 2).
  const credentials = natsCredentials(o.config.nats, env, "executor");
  // In the background, NATS or not: a warning per server names what the account lacks.
  const privileges = checkExecutorPrivileges({
    clusters: resolveClusters(o.config, env),
    connect: connectSession,
    options: { ...DEFAULT_OPTIONS, ...o.options },
    log,
  });
  const bus = await connectNatsWithRetry({
    servers,
    name: `marina-executor-${o.id}`,
    log,
    ...credentials,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  let app: ExecutorApp;
  try {
    app = buildApp({
      bus,
      log,
      config: o.config,
      id: o.id,
      env,
      ...(o.options ? { options: o.options } : {}),
      ...(o.defaultMetrics ? { defaultMetrics: true } : {}),
    });
    app.start();
    // The subscriptions are on the server once this returns: requests sent next are served.
    await bus.flush();
  } catch (err) {
    await bus.close();
    throw err;
  }
  const httpAt =
    o.http === undefined ? o.config.executorHttp : o.http === false ? undefined : o.http;
  let http: ServiceHttp | undefined;
  try {
    if (httpAt) {
      const { registry } = app.metrics;
      http = await serveServiceHttp({
        registry,
        at: httpAt,
        nc: bus,
        log,
        identity: { executor: o.id },
      });
    }
  } catch (err) {
    await app.close();
    await bus.close();
    throw err;
  }
  const httpUrl = http?.url ?? null;
  log.info({ servers }, "executor started");
  let closing: Promise<void> | undefined;
  return {
    id: o.id,
    app,
    privileges,
    httpUrl,
    close() {
      closing ??= (async () => {
        await http?.close();
        await app.close();
        await bus.close();
        log.info("executor stopped");
      })();
      return closing;
    },
  };
}
