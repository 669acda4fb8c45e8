// The decider's HTTP API as a fastify instance built without I/O (tests use inject()):
// state, topology, servers, operations, history, events (recent and SSE), every command
// with dry-run, proxy health checks, /openapi.json and /docs. start.ts makes it listen.
import {
  type ApiSettings,
  type ClusterConfig,
  type ErrorCode,
  errorBody,
  MarinaError,
} from "@marina/contracts";
import type { Registry } from "@marina/runtime";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { z } from "zod";
import { type ApiTlsMaterial, clientCertificates, resolveTokens } from "./auth.js";
import { commandRoutes } from "./command-routes.js";
import type { HttpContext } from "./context.js";
import { dashboardRoutes } from "./dashboard-routes.js";
import type { CommandSubmitter, PublishedReader } from "./deps.js";
import { fail, sendError } from "./errors.js";
import { eventsRoutes } from "./events-routes.js";
import { healthRoutes } from "./health-routes.js";
import { historyRoutes } from "./history-routes.js";
import { LeaderStatusCache } from "./leader-status.js";
import { DOCS_PAGE, openApiDocument } from "./openapi.js";
import { readRoutes } from "./read-routes.js";
import { type Guard, RouteTable } from "./route-doc.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who the request is from: its client certificate's or bearer token's name (or null). */
    requester: string | null;
  }
}

export interface HttpApiDeps {
  readonly settings: ApiSettings;
  readonly clusters: readonly ClusterConfig[];
  readonly commands: CommandSubmitter;
  readonly reader: PublishedReader;
  readonly deciderId: string;
  leading(): string[];
  readonly log: Logger;
  monotonic(): number;
  /** Where `{ env: NAME }` tokens are looked up; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Version in the OpenAPI document. */
  readonly version?: string;
  /** `settings.tls`'s files, read (readApiTls): the API speaks HTTPS with them. */
  readonly tls?: ApiTlsMaterial;
  /** Served at /metrics (docs/metrics.md); no route without it. */
  readonly metrics?: Registry;
}

export interface HttpApi {
  readonly server: FastifyInstance;
  /** The OpenAPI document (also at /openapi.json). */
  readonly openapi: Record<string, unknown>;
}

/** fastify's body errors, as Marina's codes. */
function codeOfFastifyError(err: { code?: string; statusCode?: number }): ErrorCode {
  if (err.code === "FST_ERR_CTP_INVALID_JSON" || err.code === "BAD_JSON") return "BAD_JSON";
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return "VALIDATION_FAILED";
  }
  return "INTERNAL";
}

/**
 * Why a request comes from another site's page (a browser says so in Sec-Fetch-Site or in an
 * Origin other than the host it asked), or null. Clients that are not browsers send neither.
 */
export function foreignOrigin(headers: Readonly<Record<string, unknown>>): string | null {
  const site = headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") {
    return `a command from another site's page (Sec-Fetch-Site: ${site}) is refused`;
  }
  const origin = headers.origin;
  if (typeof origin !== "string") return null;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    host = null;
  }
  return host !== null && host === headers.host
    ? null
    : `a command from another origin (${origin.slice(0, 100)}) is refused`;
}

export function buildHttpApi(deps: HttpApiDeps): HttpApi {
  // A missing variable or a short token stops the start here, naming the setting.
  const tokens = resolveTokens(deps.settings, deps.env ?? process.env);
  const certificates = clientCertificates(deps.settings.tls);
  const tls = deps.tls;
  const server = Fastify({
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCa
              ? {
                  ca: tls.clientCa,
                  requestCert: true,
                  rejectUnauthorized: deps.settings.tls?.requireClientCertificate ?? false,
                }
              : {}),
          },
        }
      : {}),
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Proxies check every second or so: a line per check would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    // Server-Sent Events streams never go idle: close() ends them instead of waiting.
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
  }) as unknown as FastifyInstance;
  server.decorateRequest("requester", null);
  // Empty JSON bodies are the empty payload (`curl -X POST -H 'content-type: …json'`).
  server.removeContentTypeParser("application/json");
  server.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = new MarinaError("BAD_JSON", `the body is not JSON: ${(err as Error).message}`);
      done(Object.assign(e, { statusCode: 400 }), undefined);
    }
  });
  server.setErrorHandler((err, req, reply) => {
    const e = err as Error & { code?: string; statusCode?: number };
    const code = err instanceof MarinaError ? err.code : codeOfFastifyError(e);
    if (code === "INTERNAL") req.log.error({ err }, "HTTP API request failed");
    return sendError(reply, errorBody(code, e.message));
  });
  server.setNotFoundHandler((req, reply) =>
    fail(reply, "NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`),
  );

  const guard: Guard = (access) => async (req, reply) => {
    if (access === "open") return undefined;
    // A browser sends a client certificate (and cookies, were there any) with a request
    // another site's page makes: a command must come from this origin or from no browser.
    const foreign = access === "write" ? foreignOrigin(req.headers) : null;
    if (foreign !== null) {
      return fail(reply, "UNAUTHORIZED", `${req.method} ${req.routeOptions.url}: ${foreign}`);
    }
    req.requester = certificates.nameOf(req.raw.socket) ?? tokens.nameOf(req.headers.authorization);
    if (req.requester !== null) return undefined;
    if (access === "read" && deps.settings.openReads) return undefined;
    const what = req.headers.authorization
      ? "a bearer token this decider does not know"
      : deps.settings.tls?.clients.length
        ? "no bearer token and no client certificate this decider knows"
        : "no bearer token";
    reply.header("www-authenticate", 'Bearer realm="marina"');
    return fail(reply, "UNAUTHORIZED", `${req.method} ${req.routeOptions.url}: ${what}`);
  };
  const table = new RouteTable(server, guard);
  const ctx: HttpContext = {
    table,
    clusters: new Map(deps.clusters.map((c) => [c.name, c])),
    commands: deps.commands,
    reader: deps.reader,
    statuses: new Map(
      deps.clusters.map((c) => [
        c.name,
        new LeaderStatusCache(c.name, deps.commands, deps.monotonic),
      ]),
    ),
    settings: deps.settings,
    log: deps.log,
    deciderId: deps.deciderId,
    leading: deps.leading,
    monotonic: deps.monotonic,
  };
  readRoutes(ctx);
  historyRoutes(ctx);
  eventsRoutes(ctx);
  commandRoutes(ctx);
  healthRoutes(ctx);
  dashboardRoutes(ctx);

  table.define(
    {
      method: "GET",
      url: "/healthz",
      summary: "this decider is up; the clusters it leads",
      tags: ["meta"],
      access: "open",
      responses: {
        200: {
          description: "up",
          schema: z.object({
            status: z.literal("ok"),
            decider: z.string(),
            leading: z.array(z.string()),
          }),
        },
      },
    },
    async () => ({ status: "ok", decider: deps.deciderId, leading: deps.leading() }),
  );
  const registry = deps.metrics;
  if (registry) {
    table.define(
      {
        method: "GET",
        url: "/metrics",
        summary: "this decider's metrics in Prometheus text format (docs/metrics.md)",
        tags: ["meta"],
        access: "open",
        responses: { 200: { description: "Prometheus text", contentType: "text/plain" } },
      },
      async (_req, reply) =>
        reply.header("content-type", registry.contentType).send(await registry.metrics()),
    );
  }
  // The document describes itself too, so it is complete; built once every route is in.
  const openapi: { doc: Record<string, unknown> | undefined } = { doc: undefined };
  table.define(
    {
      method: "GET",
      url: "/openapi.json",
      summary: "this document",
      tags: ["meta"],
      access: "open",
      responses: { 200: { description: "OpenAPI 3.1" } },
    },
    async () => openapi.doc,
  );
  table.define(
    {
      method: "GET",
      url: "/docs",
      summary: "a page listing every route of /openapi.json",
      tags: ["meta"],
      access: "open",
      responses: { 200: { description: "HTML", contentType: "text/html" } },
    },
    async (_req, reply) => reply.type("text/html; charset=utf-8").send(DOCS_PAGE),
  );
  openapi.doc = openApiDocument(table.routes, deps.version ?? "1");
  return { server, openapi: openapi.doc };
}
