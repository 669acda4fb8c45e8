// What every route module of the HTTP API is given, and the helpers they share.
import {
  type ApiSettings,
  type ClusterConfig,
  CommandReply,
  type CommandVerb,
  ErrorBody,
} from "@marina/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { z } from "zod";
import type { CommandSubmitter, PublishedReader } from "./deps.js";
import { fail, sendError } from "./errors.js";
import type { LeaderStatusCache } from "./leader-status.js";
import type { RouteTable } from "./route-doc.js";

/** How long an API request waits for a command's reply (a follower waits 10 s for the leader). */
export const COMMAND_TIMEOUT_MS = 12_000;

export interface HttpContext {
  readonly table: RouteTable;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly commands: CommandSubmitter;
  readonly reader: PublishedReader;
  readonly statuses: ReadonlyMap<string, LeaderStatusCache>;
  readonly settings: ApiSettings;
  readonly log: Logger;
  readonly deciderId: string;
  /** The clusters this decider leads now. */
  leading(): string[];
  /** Monotonic milliseconds (ages of the leader's status). */
  monotonic(): number;
}

/** `{ok: false, verb?, error}`: every error the API answers. */
export const ErrorReply = z.strictObject({
  ok: z.literal(false),
  verb: z.string().optional(),
  error: ErrorBody,
});

export const ClusterParam = z.string();

export interface ClusterParams {
  cluster: string;
}

/** The configured cluster the URL names, or a 404 UNKNOWN_CLUSTER sent. */
export function clusterOf(
  ctx: HttpContext,
  req: FastifyRequest,
  reply: FastifyReply,
): ClusterConfig | undefined {
  const name = (req.params as ClusterParams).cluster;
  const c = ctx.clusters.get(name);
  if (!c)
    fail(reply, "UNKNOWN_CLUSTER", `${JSON.stringify(name)} is not a cluster of this decider`);
  return c;
}

/** Parses the query with `schema`; sends VALIDATION_FAILED naming the parameter otherwise. */
export function queryOf<T extends z.ZodObject>(
  schema: T,
  req: FastifyRequest,
  reply: FastifyReply,
): z.infer<T> | undefined {
  const r = schema.safeParse(req.query ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join(".") || (issue as { keys?: string[] }).keys?.[0] || "";
  fail(reply, "VALIDATION_FAILED", `query ${path}: ${issue.message}`, path);
  return undefined;
}

/** The reply of `status` as the leading decider gives it (through the intake). */
export async function askStatus(
  ctx: HttpContext,
  cluster: string,
  reply: FastifyReply,
): Promise<Record<string, unknown> | undefined> {
  const r = await command(ctx, cluster, "status", "{}", reply);
  if (!r) return undefined;
  if (!r.ok) {
    sendError(reply, r.error, r.verb);
    return undefined;
  }
  return r.data ?? {};
}

/** A command's reply, or undefined with the error sent (no reply in time, bad reply). */
export async function command(
  ctx: HttpContext,
  cluster: string,
  verb: CommandVerb,
  body: string,
  reply: FastifyReply,
): Promise<CommandReply | undefined> {
  try {
    return await ctx.commands.command(cluster, verb, body, COMMAND_TIMEOUT_MS);
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === "TIMEOUT") fail(reply, "TIMEOUT", e.message);
    else fail(reply, "INTERNAL", e.message);
    return undefined;
  }
}

/** The command reply, parsed from the bytes the intake answered. */
export function parseReply(data: Uint8Array): CommandReply {
  const env = JSON.parse(new TextDecoder().decode(data)) as { payload?: unknown };
  return CommandReply.parse(env.payload);
}
