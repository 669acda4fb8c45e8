// POST /clusters/:cluster/commands/<verb>: every command but status, through the decider's
// own command intake (as if sent on cmd.<verb>: a follower forwards it to the leader). The
// body is the command's bare payload; `?dryRun=true` adds `"dryRun": true`. The command
// goes in an envelope whose source is `http:<token name>`, so the history records who
// asked; pause and resume also get that as `requestedBy` unless the body names someone.
import {
  CommandPayloads,
  CommandReply,
  type CommandVerb,
  CommandVerbs,
  envelope,
  subjects,
} from "@marina/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { requesterSource } from "./auth.js";
import { clusterOf, command, ErrorReply, type HttpContext, queryOf } from "./context.js";
import { fail, sendError } from "./errors.js";

export const DryRunQuery = z.strictObject({
  dryRun: z.stringbool().optional().describe("answer with what the command would do now"),
});

const MUTATING_VERBS = CommandVerbs.filter((v) => v !== "status");

/** The error path as the HTTP caller sent it: the payload's field, not `payload.<field>`. */
function bodyPath(path: string | undefined): string | undefined {
  return path?.startsWith("payload.") ? path.slice("payload.".length) : path;
}

function payloadOf(req: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined {
  const body = req.body ?? {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    fail(reply, "VALIDATION_FAILED", "the body must be a JSON object: the command's payload");
    return undefined;
  }
  return { ...(body as Record<string, unknown>) };
}

async function runCommand(
  ctx: HttpContext,
  verb: CommandVerb,
  req: FastifyRequest,
  reply: FastifyReply,
  fromUrl: Record<string, unknown> = {},
): Promise<FastifyReply | undefined> {
  const cluster = clusterOf(ctx, req, reply);
  if (!cluster) return reply;
  const query = queryOf(DryRunQuery, req, reply);
  if (!query) return reply;
  const payload = payloadOf(req, reply);
  if (!payload) return reply;
  if (query.dryRun) payload.dryRun = true;
  Object.assign(payload, fromUrl);
  const source = requesterSource(req.requester ?? "anonymous");
  if ((verb === "pause" || verb === "resume") && payload.requestedBy === undefined) {
    payload.requestedBy = source;
  }
  const body = JSON.stringify(envelope(`cmd.${verb}`, source, payload));
  const r = await command(ctx, cluster.name, verb, body, reply);
  if (!r) return reply;
  const log = req.log.child({ cluster: cluster.name, verb, requester: source });
  if (!r.ok) {
    log.info({ code: r.error.code }, "API command refused");
    const path = bodyPath(r.error.path);
    return sendError(reply, { ...r.error, ...(path !== undefined ? { path } : {}) }, r.verb);
  }
  log.info({ opId: r.opId ?? null, dryRun: r.dryRun !== undefined }, "API command accepted");
  return reply.code(200).send(r);
}

const CancelBody = z.strictObject({ reason: z.string().max(1024).optional() });

export function commandRoutes(ctx: HttpContext): void {
  ctx.table.define(
    {
      method: "POST",
      url: "/clusters/:cluster/operations/:opId/cancel",
      summary: "cancel a running operation (cmd.cancel with this opId)",
      tags: ["operations", "commands"],
      access: "write",
      query: DryRunQuery,
      body: CancelBody,
      responses: {
        200: { description: "cancelled (or the dry-run's report)", schema: CommandReply },
        400: { description: "bad payload", schema: ErrorReply },
        401: { description: "no or unknown bearer token", schema: ErrorReply },
        404: { description: "unknown cluster", schema: ErrorReply },
        409: {
          description: "refused (no such running operation: NOT_APPLICABLE, …)",
          schema: ErrorReply,
        },
        503: { description: "no decider leads the cluster", schema: ErrorReply },
        504: { description: "no reply in time", schema: ErrorReply },
      },
    },
    (req, reply) =>
      runCommand(ctx, "cancel", req, reply, { opId: (req.params as { opId: string }).opId }),
  );
  for (const verb of MUTATING_VERBS) {
    ctx.table.define(
      {
        method: "POST",
        url: `/clusters/:cluster/commands/${verb}`,
        summary: `${verb} (cmd.${verb})`,
        description: `Sends cmd.${verb} with this payload through the decider's command intake (a follower forwards it to the leader) and answers the leader's reply. See docs/subjects.md#commands. Subject: ${subjects.cmd("main", verb).replace(".main.", ".<cluster>.")}.`,
        tags: ["commands"],
        access: "write",
        query: DryRunQuery,
        body: CommandPayloads[verb],
        responses: {
          200: { description: "accepted (or the dry-run's report)", schema: CommandReply },
          400: { description: "bad payload (VALIDATION_FAILED, BAD_JSON)", schema: ErrorReply },
          401: { description: "no or unknown bearer token", schema: ErrorReply },
          404: { description: "unknown cluster or server", schema: ErrorReply },
          409: { description: "refused by the decider (its code)", schema: ErrorReply },
          503: { description: "no decider leads the cluster (NOT_LEADER)", schema: ErrorReply },
          504: { description: "no reply in time (TIMEOUT)", schema: ErrorReply },
        },
      },
      (req, reply) => runCommand(ctx, verb, req, reply),
    );
  }
}
