// Read endpoints: the cluster's status as the leading decider answers `status` (a
// follower asks the leader), its servers and operations from it, and the last topology
// published. The history is in history-routes.ts.
import { ClusterTopology, OperationRecord, OpId } from "@marina/contracts";
import type { FastifyReply } from "fastify";
import { z } from "zod";
import { askStatus, clusterOf, ErrorReply, type HttpContext } from "./context.js";
import { fail } from "./errors.js";

const Json = z.record(z.string(), z.unknown());
const StatusDoc = Json.describe(
  "the data of the leader's status reply (docs/cli.md#marina-status)",
);

/** The errors every read route may answer. */
export const READ_ERRORS = {
  401: { description: "no or unknown bearer token (reads not open)", schema: ErrorReply },
  404: { description: "unknown cluster (or server, record)", schema: ErrorReply },
  503: { description: "no decider leads the cluster", schema: ErrorReply },
  504: { description: "the leader did not answer in time", schema: ErrorReply },
} as const;

export async function unreadable(reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  return fail(reply, "INTERNAL", `cannot read the stream: ${(err as Error).message}`);
}

export function readRoutes(ctx: HttpContext): void {
  const { table } = ctx;
  table.define(
    {
      method: "GET",
      url: "/clusters",
      summary: "the clusters this decider serves, and which it leads",
      tags: ["state"],
      access: "read",
      responses: {
        200: {
          description: "clusters",
          schema: z.object({
            decider: z.string(),
            clusters: z.array(
              z.object({ name: z.string(), leading: z.boolean(), servers: z.array(z.string()) }),
            ),
          }),
        },
        401: READ_ERRORS[401],
      },
    },
    async () => {
      const leading = new Set(ctx.leading());
      return {
        decider: ctx.deciderId,
        clusters: [...ctx.clusters.values()].map((c) => ({
          name: c.name,
          leading: leading.has(c.name),
          servers: c.servers.map((s) => s.name),
        })),
      };
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/status",
      summary: "the leading decider's status (what cmd.status answers)",
      tags: ["state"],
      access: "read",
      responses: { 200: { description: "status", schema: StatusDoc }, ...READ_ERRORS },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      return (await askStatus(ctx, c.name, reply)) ?? reply;
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/servers",
      summary: "every server: role, read_only, GTID, lag, situations (from the status)",
      tags: ["state"],
      access: "read",
      responses: { 200: { description: "servers", schema: z.array(Json) }, ...READ_ERRORS },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const s = await askStatus(ctx, c.name, reply);
      return s ? (s.servers ?? []) : reply;
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/servers/:server",
      summary: "one server (from the status)",
      tags: ["state"],
      access: "read",
      responses: { 200: { description: "server", schema: Json }, ...READ_ERRORS },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const name = (req.params as { server: string }).server;
      if (!c.servers.some((s) => s.name === name)) {
        return fail(
          reply,
          "UNKNOWN_SERVER",
          `${JSON.stringify(name)} is not a server of ${c.name}`,
        );
      }
      const s = await askStatus(ctx, c.name, reply);
      if (!s) return reply;
      return ((s.servers ?? []) as { name: string }[]).find((x) => x.name === name) ?? null;
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/operations",
      summary: "the running operation (null when none) and the last ones the leader keeps",
      tags: ["operations"],
      access: "read",
      responses: {
        200: {
          description: "operations",
          schema: z.object({ current: Json.nullable(), recent: z.array(Json) }),
        },
        ...READ_ERRORS,
      },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const s = await askStatus(ctx, c.name, reply);
      if (!s) return reply;
      return { current: s.operation ?? null, recent: s.history ?? [] };
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/operations/:opId",
      summary: "one operation: running (from the status) or its record once it ended",
      tags: ["operations"],
      access: "read",
      responses: {
        200: {
          description: "the operation",
          schema: z.object({
            state: z.enum(["running", "ended"]),
            operation: Json.nullable(),
            record: OperationRecord.nullable(),
          }),
        },
        ...READ_ERRORS,
      },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const opId = (req.params as { opId: string }).opId;
      if (!OpId.safeParse(opId).success) return fail(reply, "VALIDATION_FAILED", "bad id", "opId");
      const s = await askStatus(ctx, c.name, reply);
      if (!s) return reply;
      const current = s.operation as { opId?: string } | null;
      if (current?.opId === opId) return { state: "running", operation: current, record: null };
      try {
        const record = await ctx.reader.historyRecord(c.name, opId);
        if (record) return { state: "ended", operation: null, record };
      } catch (err) {
        return unreadable(reply, err);
      }
      return fail(reply, "NOT_FOUND", `no operation ${JSON.stringify(opId)} in ${c.name}`);
    },
  );

  table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/topology",
      summary: "the last topology the leading decider published (MARINA_EVENTS)",
      tags: ["state"],
      access: "read",
      responses: { 200: { description: "topology", schema: ClusterTopology }, ...READ_ERRORS },
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      try {
        const t = await ctx.reader.lastTopology(c.name);
        return t ?? fail(reply, "NOT_FOUND", `no topology of ${c.name} was published yet`);
      } catch (err) {
        return unreadable(reply, err);
      }
    },
  );
}
