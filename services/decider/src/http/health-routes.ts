// Health checks for proxies and DNS, as Patroni's /primary and /replica: 200 only from a
// status the leading decider gave at most `api.statusMaxAgeMs` ago (the leader answers
// its own; a follower asks the leader), 503 otherwise — no leader, no answer in time, not
// the writer. Never 200 for a server that is fenced, down or stale: a proxy that cannot
// reach a current answer sends nothing there. Open (no token): a proxy must call them.
import { z } from "zod";
import { clusterOf, ErrorReply, type HttpContext, queryOf } from "./context.js";
import { fail } from "./errors.js";
import { currentWriter, type HealthStatus, type LeaderStatus } from "./leader-status.js";

export const ReplicaQuery = z.strictObject({
  maxLagSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .optional()
    .describe("503 when the replica lags more (or its lag is unknown)"),
});

const Check = z.object({
  ok: z.boolean(),
  cluster: z.string(),
  server: z.string().nullable(),
  role: z.string().nullable(),
  reason: z.string(),
  /** Who answered the status this check read, its epoch and how old it was (ms). */
  decider: z.string().nullable(),
  epoch: z.number().nullable(),
  ageMs: z.number().nullable(),
});
type Check = z.infer<typeof Check>;

const Writer = Check.extend({ host: z.string().nullable(), port: z.number().nullable() });

/** Why a server is not a replica one should read from now; null when it is. */
export function replicaRefusal(
  status: HealthStatus,
  server: string,
  maxLagSeconds: number | undefined,
): string | null {
  const s = status.servers.find((x) => x.name === server);
  if (!s) return `${server} is not in the status`;
  if (s.role !== "replica" && s.role !== "relay") return `${server} is ${s.role}`;
  if (s.readOnly !== true) return `${server} is not read-only`;
  if (s.situations.includes("ReplicaBroken")) return `${server} has a broken replication thread`;
  if (maxLagSeconds !== undefined) {
    const lag = s.lagSeconds ?? null;
    if (lag === null) return `${server}'s lag is not known`;
    if (lag > maxLagSeconds) return `${server} lags ${lag} s (> ${maxLagSeconds} s)`;
  }
  return null;
}

export function healthRoutes(ctx: HttpContext): void {
  const current = (cluster: string): Promise<LeaderStatus | null> =>
    ctx.statuses.get(cluster)!.current(ctx.settings.statusMaxAgeMs, ctx.settings.healthTimeoutMs);
  const answer = (
    reply: import("fastify").FastifyReply,
    ok: boolean,
    body: Omit<Check, "ok" | "decider" | "epoch" | "ageMs">,
    s: LeaderStatus | null,
    extra: Record<string, unknown> = {},
  ) =>
    reply.code(ok ? 200 : 503).send({
      ok,
      ...body,
      ...extra,
      decider: s?.status.decider ?? null,
      epoch: s?.status.epoch ?? null,
      ageMs: s ? Math.max(0, Math.round(ctx.monotonic() - s.at)) : null,
    });
  const noStatus = "no current status from the leading decider";
  const responses = (schema: z.ZodType) => ({
    200: { description: "yes, from a current status", schema },
    404: { description: "unknown cluster or server", schema: ErrorReply },
    503: { description: "no, or not known now", schema },
  });

  ctx.table.define(
    {
      method: "GET",
      url: "/clusters/:cluster/primary",
      summary: "200 with the writer's host and port; 503 when there is none (or not known now)",
      tags: ["health"],
      access: "open",
      responses: responses(Writer),
    },
    async (req, reply) => {
      const c = clusterOf(ctx, req, reply);
      if (!c) return reply;
      const s = await current(c.name);
      const w = s ? currentWriter(s.status) : null;
      const base = { cluster: c.name, server: w?.server ?? null, role: w ? "primary" : null };
      if (!s)
        return answer(reply, false, { ...base, reason: noStatus }, s, { host: null, port: null });
      return w
        ? answer(reply, true, { ...base, reason: "the writer" }, s, { host: w.host, port: w.port })
        : answer(reply, false, { ...base, reason: "no writable primary" }, s, {
            host: null,
            port: null,
          });
    },
  );

  const serverCheck = (kind: "primary" | "replica") =>
    ctx.table.define(
      {
        method: "GET",
        url: `/clusters/:cluster/servers/:server/${kind}`,
        summary:
          kind === "primary"
            ? "200 when this server is the writer; 503 otherwise (for a proxy's per-server check)"
            : "200 when this server is a read-only replica replicating (within maxLagSeconds); 503 otherwise",
        tags: ["health"],
        access: "open",
        ...(kind === "replica" ? { query: ReplicaQuery } : {}),
        responses: responses(Check),
      },
      async (req, reply) => {
        const c = clusterOf(ctx, req, reply);
        if (!c) return reply;
        const server = (req.params as { server: string }).server;
        if (!c.servers.some((s) => s.name === server)) {
          return fail(
            reply,
            "UNKNOWN_SERVER",
            `${JSON.stringify(server)} is not a server of ${c.name}`,
          );
        }
        const q = kind === "replica" ? queryOf(ReplicaQuery, req, reply) : {};
        if (!q) return reply;
        const s = await current(c.name);
        const role = s?.status.servers.find((x) => x.name === server)?.role ?? null;
        const base = { cluster: c.name, server, role };
        if (!s) return answer(reply, false, { ...base, reason: noStatus }, s);
        if (kind === "primary") {
          const isWriter = currentWriter(s.status)?.server === server;
          const reason = isWriter
            ? "the writer"
            : `the writer is ${currentWriter(s.status)?.server ?? "none (or not sampled lately)"}`;
          return answer(reply, isWriter, { ...base, reason }, s);
        }
        const maxLag = (q as { maxLagSeconds?: number }).maxLagSeconds;
        const refusal = replicaRefusal(s.status, server, maxLag);
        return answer(reply, refusal === null, { ...base, reason: refusal ?? "a replica" }, s);
      },
    );
  serverCheck("primary");
  serverCheck("replica");
}
