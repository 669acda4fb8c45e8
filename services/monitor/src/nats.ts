// NATS for the monitor: the first connection is retried with backoff and a clear log line
// per attempt (the nats client would otherwise fail once, or wait silently); after that the
// client's own reconnect logic keeps the connection, and status changes are logged.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Bus } from "./app.js";
import { backoffDelay } from "./backoff.js";

export interface NatsConnectOptions {
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  /** Client name shown by the server (connz). */
  readonly name: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class NatsAborted extends Error {
  override readonly name = "NatsAborted";
}

/** Connects, retrying for ever (until `signal` aborts) with exponential backoff. */
export async function connectNatsWithRetry(o: NatsConnectOptions): Promise<NatsConnection> {
  const where = o.servers.join(",");
  const backoff = { backoffMinMs: o.retryMinMs ?? 250, backoffMaxMs: o.retryMaxMs ?? 5000 };
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw new NatsAborted("stopped while connecting to NATS");
    try {
      const nc = await connect({
        servers: [...o.servers],
        name: o.name,
        ...(o.user !== undefined ? { user: o.user } : {}),
        ...(o.pass !== undefined ? { pass: o.pass } : {}),
        timeout: 2000,
        // After the first connection the client reconnects by itself, for ever.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      o.log.info({ nats: nc.getServer(), attempt }, "connected to NATS");
      return nc;
    } catch (err) {
      const retryInMs = backoffDelay(backoff, attempt);
      const reason = err instanceof Error ? err.message : String(err);
      o.log.error(
        { nats: where, attempt, retryInMs, reason },
        `cannot connect to NATS at ${where}: ${reason}; retrying in ${retryInMs} ms`,
      );
      await sleep(retryInMs, o.signal);
    }
  }
}

/** The app's Bus over a NATS connection; tracks connected state from status events. */
export class NatsBus implements Bus {
  #connected = true;
  readonly nc: NatsConnection;

  constructor(nc: NatsConnection, log: Logger) {
    this.nc = nc;
    void (async () => {
      for await (const s of nc.status()) {
        switch (s.type) {
          case "disconnect":
            this.#connected = false;
            log.warn({ nats: s.server }, "NATS disconnected; reconnecting");
            break;
          case "reconnect":
            this.#connected = true;
            log.info({ nats: s.server }, "NATS reconnected");
            break;
          case "close":
            this.#connected = false;
            break;
          default:
            break;
        }
      }
    })().catch(() => {});
  }

  publish(subject: string, data: Uint8Array): void {
    this.nc.publish(subject, data);
  }

  isConnected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }
}
