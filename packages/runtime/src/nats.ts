// The first NATS connection of every service, with one retry policy: retried with
// exponential backoff (250 ms doubling to 5 s) and a log line per attempt, for ever or until
// `signal` aborts (the nats client alone would fail once, or wait silently). After that the
// client's own reconnect logic keeps the connection, for ever: given every server of a NATS
// cluster (the client also learns them from its server), it moves to another one at once
// when its server closes the connection, and within NATS_SILENT_SERVER_MS when its server
// stops answering (frozen, cut off) — its own pings go unanswered. It then dials the server
// it tried least recently (leastRecentlyDialled), not the one it just lost: a frozen server
// still accepts TCP connections and would hold the client for the connect timeout.
import {
  inboxPrefix,
  MarinaError,
  type NatsRole,
  resolveSecret,
  type Secret,
} from "@marina/contracts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { backoffDelay } from "./backoff.js";
import { sleep } from "./clock.js";
import { readTlsFiles, type TlsFiles } from "./tls-files.js";

export const NATS_RETRY = { backoffMinMs: 250, backoffMaxMs: 5000 } as const;
/** How long one connect attempt may take. */
export const NATS_CONNECT_TIMEOUT_MS = 2000;
/** Between the client's own reconnect attempts to one server, after the first connection. */
export const NATS_RECONNECT_WAIT_MS = 500;
/** The client pings its server this often… */
export const NATS_PING_INTERVAL_MS = 500;
/** …and leaves it when this many pings are unanswered at the next one. */
export const NATS_MAX_PINGS_OUT = 2;
/** How long a silent server keeps a client at most (pings out, then the next tick). */
export const NATS_SILENT_SERVER_MS = NATS_PING_INTERVAL_MS * (NATS_MAX_PINGS_OUT + 1);

/**
 * Which server to dial next: the one dialled least recently (never dialled first; ties in
 * the pool's order). nats.js would first dial again the server it just lost.
 */
export function leastRecentlyDialled<S extends { readonly lastConnect: number }>(
  pool: readonly S[],
): S | null {
  let best: S | null = null;
  for (const s of pool) if (best === null || s.lastConnect < best.lastConnect) best = s;
  return best;
}

/**
 * The servers to connect to: the `--nats` flag (one URL or a comma-separated list) when
 * given, else the config's `nats.servers`.
 */
export function natsServers(flag: string | undefined, configured: readonly string[]): string[] {
  const fromFlag = (flag ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return fromFlag.length > 0 ? fromFlag : [...configured];
}

/** `nats` of a Marina config (the services' and the agent's). */
export interface NatsSettings {
  readonly servers: readonly string[];
  readonly user?: string | undefined;
  readonly password?: Secret | undefined;
  /** Per role (a Marina config's `nats.credentials`); wins over user/password. */
  readonly credentials?:
    | Partial<Record<NatsRole, { readonly user: string; readonly password: Secret }>>
    | undefined;
  /** Files: the CA that signed the servers' certificates, and a client certificate. */
  readonly tls?: TlsFiles | undefined;
}

export interface NatsCredentials {
  readonly user?: string;
  readonly pass?: string;
  /** The role's inbox prefix (its NATS permissions allow only its own inboxes). */
  readonly inboxPrefix?: string;
  /** TLS (PEM texts, read at start): the servers' certificates verified against `ca`. */
  readonly tls?: TlsFiles;
}

/**
 * The user, the resolved password and, with `role`, that role's own credentials when the
 * config names them and its inbox prefix. Call it before starting anything: a missing
 * secret is a bad config (VALIDATION_FAILED naming the field and the variable).
 */
export function natsCredentials(
  n: NatsSettings,
  env?: NodeJS.ProcessEnv,
  role?: NatsRole,
  /** An agent's host: its inbox prefix is its host's. */
  host?: string,
): NatsCredentials {
  const own = role !== undefined ? n.credentials?.[role] : undefined;
  const user = own ? own.user : n.user;
  const secret = own ? own.password : n.password;
  const path = own ? `nats.credentials.${role}.password` : "nats.password";
  let pass: string | undefined;
  if (secret !== undefined) {
    try {
      pass = resolveSecret(secret, env);
    } catch (err) {
      if (!(err instanceof MarinaError)) throw err;
      throw new MarinaError(err.code, `${path}: ${err.message}`, { path, cause: err });
    }
  }
  return {
    ...(user !== undefined ? { user } : {}),
    ...(pass ? { pass } : {}),
    ...(role !== undefined ? { inboxPrefix: inboxPrefix(role, host) } : {}),
    ...(n.tls ? { tls: readTlsFiles(n.tls, "nats.tls") } : {}),
  };
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
        ...(o.inboxPrefix !== undefined ? { inboxPrefix: o.inboxPrefix } : {}),
        ...(o.tls ? { tls: { ...o.tls } } : {}),
        timeout: NATS_CONNECT_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
        pingInterval: NATS_PING_INTERVAL_MS,
        maxPingOut: NATS_MAX_PINGS_OUT,
        reconnectToServer: (pool) => leastRecentlyDialled(pool),
      });
      if (o.signal?.aborted) {
        await nc.close().catch(() => {});
        throw new NatsAborted();
      }
      o.log.info(
        { nats: nc.getServer(), server: nc.info?.server_name, cluster: nc.info?.cluster, attempt },
        "connected to NATS",
      );
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
          log.info({ nats: s.server, server: nc.info?.server_name }, "NATS reconnected");
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
