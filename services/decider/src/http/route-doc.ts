// Every route of the HTTP API is declared once, with what the OpenAPI document says of it
// (openapi.ts): method, path, who may call it, query, body and responses as zod schemas.
// define() registers it with fastify and its access check, so the document covers every
// route by construction.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import type { z } from "zod";

/**
 * `write`: a bearer token, always. `read`: a token unless `api.openReads`. `open`: none
 * (proxy health checks, the OpenAPI document, liveness).
 */
export type Access = "read" | "write" | "open";

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Default application/json. */
  readonly contentType?: string;
}

export interface RouteDoc {
  readonly method: "GET" | "POST";
  /** fastify syntax: `/clusters/:cluster/primary`. */
  readonly url: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: Access;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

export type Guard = (
  access: Access,
) => (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

export class RouteTable {
  readonly routes: RouteDoc[] = [];

  constructor(
    private readonly app: FastifyInstance,
    private readonly guard: Guard,
  ) {}

  define(doc: RouteDoc, handler: RouteHandlerMethod): void {
    this.routes.push(doc);
    this.app.route({
      method: doc.method,
      url: doc.url,
      preHandler: this.guard(doc.access),
      handler,
    });
  }
}
