import type { MarinaConfig } from "@marina/contracts";
import { resolveSecret } from "@marina/contracts";
import { connect } from "@nats-io/transport-node";
import { type AppDeps, buildApp, type ExecutorApp } from "./app.js";
import { createLogger, type Logger } from "./logger.js";

export type { AppDeps, ExecutorApp } from "./app.js";
export { buildApp, QUEUE_GROUP } from "./app.js";
export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export type { Connector, DbTarget, Session } from "./db.js";
export { connectMariadb } from "./db.js";
export type { ExecutorOptions } from "./handler.js";
export { DEFAULT_OPTIONS, handleExecRequest } from "./handler.js";
export { createLogger } from "./logger.js";

export interface StartExecutorOptions {
  readonly config: MarinaConfig;
  /** Executor id, reported in every result. */
  readonly id: string;
  /** Overrides config.nats.servers. */
  readonly natsUrl?: string | string[];
  readonly log?: Logger;
  readonly options?: AppDeps["options"];
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunningExecutor {
  readonly id: string;
  readonly app: ExecutorApp;
  /** Stops serving, lets running steps reply, closes the NATS connection. */
  close(): Promise<void>;
}

/** Connects to NATS and serves every configured cluster's exec subject. */
export async function startExecutor(o: StartExecutorOptions): Promise<RunningExecutor> {
  const log = (o.log ?? createLogger()).child({ executor: o.id });
  const env = o.env ?? process.env;
  const nats = o.config.nats;
  const servers = o.natsUrl ?? nats.servers;
  const bus = await connect({
    servers,
    name: `marina-executor-${o.id}`,
    ...(nats.user ? { user: nats.user } : {}),
    ...(nats.password ? { pass: resolveSecret(nats.password, env) } : {}),
    // Keep trying: an executor outlives NATS restarts.
    maxReconnectAttempts: -1,
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
    });
    app.start();
    // The subscriptions are on the server once this returns: requests sent next are served.
    await bus.flush();
  } catch (err) {
    await bus.close();
    throw err;
  }
  log.info({ servers }, "executor started");
  let closing: Promise<void> | undefined;
  return {
    id: o.id,
    app,
    close() {
      closing ??= (async () => {
        await app.close();
        await bus.close();
        log.info("executor stopped");
      })();
      return closing;
    },
  };
}
