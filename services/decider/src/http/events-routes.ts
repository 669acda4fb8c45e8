// Events: the last ones kept in MARINA_EVENTS, and a Server-Sent Events stream of what the
// leading decider publishes from now on (topology, events, operations), led by the last
// topology so that a new client starts from the current state.
import { ClusterEvent, ClusterTopology, OperationEvent } from "@marina/contracts";
import { z } from "zod";
import { clusterOf, ErrorReply, type HttpContext, queryOf } from "./context.js";
import type { Published } from "./deps.js";
import { fail } from "./errors.js";

const DAY_MS = 24 * 3600 * 1000;
/** A comment line this often keeps proxies from closing an idle stream. */
export const SSE_KEEPALIVE_MS = 15_000;

export const EventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  since: z.iso.datetime().optional().describe("only what was stored since then (default 24 h)"),
  all: z.stringbool().optional().describe("topology and operation messages too"),
});

const PublishedDoc = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("event"), time: z.string(), payload: ClusterEvent }),
  z.object({ kind: z.literal("topology"), time: z.string(), payload: ClusterTopology }),
  z.object({ kind: z.literal("operation"), time: z.string(), payload: OperationEvent }),
]);

/** One SSE frame: `event: <kind>`, `data: <Published as JSON>`. */
export function sseFrame(p: Published): string {
  return `event: ${p.kind}\ndata: ${JSON.stringify(p)}\n\n`;
}

export function eventsRoutes(ctx: HttpContext): void {
  ctx.table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/events",
      summary: "the last events (situations, refusals) kept in MARINA_EVENTS, oldest first",
      tags: ["events"],
      access: "read",
      query: EventsQuery,
      responses: {
        200: {
          description: "events",
          schema: z.object({ cluster: z.string(), events: z.array(PublishedDoc) }),
        },
        400: { description: "bad query", schema: ErrorReply },
        401: { description: "no or unknown bearer token", schema: ErrorReply },
        404: { description: "unknown cluster", schema: ErrorReply },
      },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const q = queryOf(EventsQuery, req, reply);
      if (!q) return reply;
      try {
        const events = await ctx.reader.recent(c.name, {
          limit: q.limit,
          since: q.since ? new Date(q.since) : new Date(Date.now() - DAY_MS),
          kinds: q.all ? ["event", "topology", "operation"] : ["event"],
        });
        return { cluster: c.name, events };
      } catch (err) {
        return fail(reply, "INTERNAL", `cannot read the stream: ${(err as Error).message}`);
      }
    },
  );

  ctx.table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/events/stream",
      summary: "Server-Sent Events: topology, event and operation messages as they are published",
      description:
        "Each message is one SSE frame: `event:` topology | event | operation, `data:` {kind, time, payload}. The last topology comes first. A comment line every 15 s keeps the connection alive.",
      tags: ["events"],
      access: "read",
      responses: {
        200: { description: "the stream", contentType: "text/event-stream", schema: PublishedDoc },
        401: { description: "no or unknown bearer token", schema: ErrorReply },
        404: { description: "unknown cluster", schema: ErrorReply },
      },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const abort = new AbortController();
      // Before any await: a client gone while the consumers are being made must end them.
      req.raw.once("close", () => abort.abort());
      try {
        // Listening first, then the last topology: nothing published in between is missed.
        const queued: Published[] = [];
        let ready = false;
        const write = (p: Published) => {
          if (!ready) queued.push(p);
          else reply.raw.write(sseFrame(p));
        };
        await ctx.reader.follow(c.name, write, abort.signal);
        const topology = await ctx.reader.lastTopology(c.name);
        if (abort.signal.aborted || req.raw.destroyed) return reply;
        reply.hijack();
        reply.raw.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        reply.raw.write(": marina events\n\n");
        if (topology) {
          reply.raw.write(
            sseFrame({ kind: "topology", time: new Date().toISOString(), payload: topology }),
          );
        }
        ready = true;
        for (const p of queued.splice(0)) reply.raw.write(sseFrame(p));
        const keepalive = setInterval(() => reply.raw.write(": keepalive\n\n"), SSE_KEEPALIVE_MS);
        keepalive.unref();
        const stop = () => {
          clearInterval(keepalive);
          abort.abort();
        };
        reply.raw.on("close", stop);
        if (reply.raw.destroyed) stop();
      } catch (err) {
        abort.abort();
        if (!reply.sent) {
          return fail(reply, "INTERNAL", `cannot follow the stream: ${(err as Error).message}`);
        }
      }
      return reply;
    },
  );
}
