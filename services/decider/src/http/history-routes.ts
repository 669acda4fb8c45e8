// The operations' records in MARINA_HISTORY: the last ones, and one by its id.
import { OperationRecord, OpId } from "@marina/contracts";
import { z } from "zod";
import { clusterOf, ErrorReply, type HttpContext, queryOf } from "./context.js";
import { fail } from "./errors.js";
import { READ_ERRORS, unreadable } from "./read-routes.js";

export const HistoryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  since: z.iso.datetime().optional().describe("only records stored since then (ISO time)"),
});

export function historyRoutes(ctx: HttpContext): void {
  const { table } = ctx;
  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/history",
      summary: "the last operations' records (MARINA_HISTORY), oldest first",
      tags: ["operations"],
      access: "read",
      query: HistoryQuery,
      responses: {
        200: {
          description: "records",
          schema: z.object({ cluster: z.string(), records: z.array(OperationRecord) }),
        },
        400: { description: "bad query", schema: ErrorReply },
        ...READ_ERRORS,
      },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const q = queryOf(HistoryQuery, req, reply);
      if (!q) return reply;
      try {
        const records = await ctx.reader.history(c.name, {
          limit: q.limit,
          ...(q.since ? { since: new Date(q.since) } : {}),
        });
        return { cluster: c.name, records };
      } catch (err) {
        return unreadable(reply, err);
      }
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/history/:id",
      summary: "one operation's record",
      tags: ["operations"],
      access: "read",
      responses: { 200: { description: "record", schema: OperationRecord }, ...READ_ERRORS },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const id = (req.params as { id: string }).id;
      if (!OpId.safeParse(id).success) return fail(reply, "VALIDATION_FAILED", "bad id", "id");
      try {
        const record = await ctx.reader.historyRecord(c.name, id);
        return record ?? fail(reply, "NOT_FOUND", `no record ${JSON.stringify(id)} in ${c.name}`);
      } catch (err) {
        return unreadable(reply, err);
      }
    },
  );
}
