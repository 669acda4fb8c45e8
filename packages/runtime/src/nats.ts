// The first NATS connection of every service, with one retry policy: retried with
// exponential backoff (250 ms doubling to 5 s) and a log line per attempt, for ever or until
// `signal` aborts (the nats client alone would fail once, or wait silently). After that the
// client's own reconnect logic keeps the connection, for ever.
import { MarinaError, resolveSecret, type Secret } from "@marina/contracts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { backoffDelay } from "./backoff.js";
import { sleep } from "./clock.js";

export const NATS_RETRY = { backoffMinMs: 250, backoffMaxMs: 5000 } as const;
/** How long one connect attempt may take. */
export const NATS_CONNECT_TIMEOUT_MS = 2000;
/** Between the client's own reconnect attempts, after the first connection. */
export const NATS_RECONNECT_WAIT_MS = 500;

/** `nats` of a Marina config (the services' and the agent's). */
export interface NatsSettings {
  readonly servers: readonly string[];
  readonly user?: string | undefined;
  readonly password?: Secret | undefined;
}

export interface NatsCredentials {
  readonly user?: string;
  readonly pass?: string;
}

/**
 * The user and the resolved password. Call it before starting anything: a missing secret
 * is a bad config (VALIDATION_FAILED naming `nats.password` and the variable).
 */
export function natsCredentials(n: NatsSettings, env?: NodeJS.ProcessEnv): NatsCredentials {
  let pass: string | undefined;
  if (n.password !== undefined) {
    try {
      pass = resolveSecret(n.password, env);
    } catch (err) {
      if (!(err instanceof MarinaError)) throw err;
      throw new MarinaError(err.code, `nats.password: ${err.message}`, {
        path: "nats.password",
        cause: err,
      });
    }
  }
  return { ...(n.user !== undefined ? { user: n.user } : {}), ...(pass ? { pass } : {}) };
}

export interface NatsConnectOptions extends NatsCredentials {
  readonly servers: readonly string[];
  /** Client name shown by the server (connz), e.g. `marina-executor-e1`. */
  readonly name: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Overrides NATS_RETRY (tests). */
  readonly retry?: { readonly backoffMinMs: number; readonly backoffMaxMs: number };
}

/** The service was stopped before its first NATS connection: not a failure. */
export class NatsAborted extends Error {
  override readonly name = "NatsAborted";
  readonly code = "NATS_ABORTED";
  readonly retryable = false;
  constructor() {
    super("stopped while connecting to NATS");
  }
}

/** Connects, retrying with NATS_RETRY until it succeeds or `signal` aborts (NatsAborted). */
export async function connectNatsWithRetry(o: NatsConnectOptions): Promise<NatsConnection> {
  const where = o.servers.join(",");
  const retry = o.retry ?? NATS_RETRY;
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw new NatsAborted();
    try {
      const nc = await connect({
        servers: [...o.servers],
        name: o.name,
        ...(o.user !== undefined ? { user: o.user } : {}),
        ...(o.pass !== undefined ? { pass: o.pass } : {}),
        timeout: NATS_CONNECT_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
      });
      if (o.signal?.aborted) {
        await nc.close().catch(() => {});
        throw new NatsAborted();
      }
      o.log.info({ nats: nc.getServer(), attempt }, "connected to NATS");
      return nc;
    } catch (err) {
      if (err instanceof NatsAborted) throw err;
      const retryInMs = backoffDelay(retry, attempt);
      const reason = err instanceof Error ? err.message : String(err);
      o.log.error(
        { nats: where, attempt, retryInMs, reason },
        `cannot connect to NATS at ${where}: ${reason}; retrying in ${retryInMs} ms`,
      );
      await sleep(retryInMs, o.signal);
    }
  }
}

/**
 * Logs the connection's disconnects and reconnects and reports each change of "connected"
 * to `onChange`; ends when the connection closes.
 */
export function watchNatsStatus(
  nc: NatsConnection,
  log: Logger,
  onChange: (connected: boolean) => void = () => {},
): void {
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          onChange(false);
          log.warn({ nats: s.server }, "NATS disconnected; reconnecting");
          break;
        case "reconnect":
          onChange(true);
          log.info({ nats: s.server }, "NATS reconnected");
          break;
        case "close":
          onChange(false);
          break;
        default:
          break;
      }
    }
  })().catch(() => {});
}
