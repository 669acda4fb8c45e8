// Prometheus metrics, one way for every service: prom-client metrics in a registry of the
// service's own (never prom-client's global one: tests and the sandbox run several services
// in one process), served at GET /metrics; and, for a service without an HTTP server of its
// own, a small server with /metrics and /healthz.
import type { NatsConnection } from "@nats-io/transport-node";
import Fastify, { type FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "./logger.js";
import { watchNatsStatus } from "./nats.js";

export { Counter, Gauge, Histogram, Registry };

export interface RegistryOptions {
  /**
   * Node's process metrics too (`process_*`, `nodejs_*`): on in a service's own process
   * (main.ts), off in-process (they describe the whole process, not one service).
   */
  readonly defaultMetrics?: boolean;
}

export function metricsRegistry(o: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (o.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Where a service's HTTP server listens (config `http`, `executorHttp`, …). */
export interface HttpAddress {
  readonly host: string;
  /** 0: a free port (the URL says which). */
  readonly port: number;
}

/** GET /metrics on `server`: the registry in Prometheus text format. Never needs a token. */
export function serveMetrics(server: FastifyInstance, registry: Registry): void {
  server.get("/metrics", async (_req, reply) =>
    reply.header("content-type", registry.contentType).send(await registry.metrics()),
  );
}

/** What /healthz answers: 200 when `ok`, else 503; the other fields as they are. */
export interface HealthReport {
  readonly ok: boolean;
  readonly [field: string]: unknown;
}

/** A server with /metrics and /healthz only (built without I/O; `listenHttp` starts it). */
export function buildMetricsServer(o: {
  readonly registry: Registry;
  readonly health: () => HealthReport;
}): FastifyInstance {
  const server = Fastify({ logger: false });
  serveMetrics(server, o.registry);
  server.get("/healthz", async (_req, reply) => {
    const { ok, ...rest } = o.health();
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", ...rest });
  });
  return server;
}

/** Listens at `at` and returns the server's URL (`http://host:port`, the port it got). */
export async function listenHttp(
  server: FastifyInstance,
  at: HttpAddress,
  scheme: "http" | "https" = "http",
): Promise<string> {
  await server.listen({ host: at.host, port: at.port });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : at.port;
  return `${scheme}://${at.host.includes(":") ? `[${at.host}]` : at.host}:${port}`;
}

/** A service's /metrics and /healthz server, listening. */
export interface ServiceHttp {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * /metrics and /healthz of a service on its NATS connection (executor, agent): healthy
 * while the connection is up (the status is watched, and reconnects logged). Rejects when
 * it cannot listen (the port taken, say).
 */
export async function serveServiceHttp(o: {
  readonly registry: Registry;
  readonly at: HttpAddress;
  readonly nc: NatsConnection;
  readonly log: Logger;
  /** Said by /healthz beside the status (`{ executor: id }`). */
  readonly identity: Readonly<Record<string, string>>;
}): Promise<ServiceHttp> {
  let natsUp = true;
  watchNatsStatus(o.nc, o.log, (up) => {
    natsUp = up;
  });
  const server = buildMetricsServer({
    registry: o.registry,
    health: () => {
      const nats = natsUp && !o.nc.isClosed();
      return { ok: nats, ...o.identity, nats };
    },
  });
  const url = await listenHttp(server, o.at);
  o.log.info({ url }, "http listening");
  return { url, close: () => server.close() };
}
