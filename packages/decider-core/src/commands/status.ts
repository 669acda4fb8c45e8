import type { CommandReply } from "@marina/contracts/commands";
import { formatGtidList, parseGtidList, positionOf } from "@marina/contracts/gtid";
import { diagnose } from "../diagnose.js";
import { assessPrimary } from "../evidence.js";
import { automaticIntents } from "../held-automation.js";
import { currentObservation, lagOf } from "../knowledge.js";
import type { Env } from "../plans/common.js";
import { failoversInWindow } from "../policies/constraints.js";
import type { Operation } from "../state.js";
import { buildTopology } from "../topology.js";
import type { CommandCall } from "./handler.js";
import { ok } from "./replies.js";

/** What the decider knows and does, for `marina status`. */
export function statusCommand({ env, verb }: CommandCall<"status">): CommandReply {
  return ok(verb, `cluster ${env.ctx.config.name}: primary ${env.state.primary ?? "unknown"}`, {
    data: statusOf(env),
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function statusOf(env: Env): Record<string, unknown> {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const verdict =
    state.primary === null
      ? null
      : assessPrimary(state, config, state.primary, now, env.opts.agentHeartbeatFreshMs).verdict;
  const topo = buildTopology(state, config, {
    now,
    epoch: ctx.epoch,
    primaryDown: verdict === "dead",
  });
  return {
    cluster: config.name,
    decider: ctx.source,
    epoch: ctx.epoch,
    primary: state.primary,
    /** The leader's verdict on the primary now (`unknown`: no monitor sampled it lately). */
    primaryVerdict: verdict,
    writer: topo.writer,
    operation: state.operation ? operationStatus(state.operation) : null,
    servers: topo.servers.map((s) => ({
      name: s.name,
      /** The host agent serving it (its heartbeat age is in `agents`); null: none. */
      agentHost: config.servers.find((c) => c.name === s.name)?.agentHost ?? null,
      host: s.host,
      port: s.port,
      role: s.role,
      readOnly: s.readOnly,
      gtidCurrentPos: s.gtidCurrentPos,
      /** Who it replicates from now (the published topology's are as of its last change of roles). */
      sources: s.sources,
      lagSeconds: lagSecondsOf(env, s.name),
      situations: state.situations[s.name] ?? [],
      reason: s.reason,
    })),
    clusterSituations: state.situations["*"] ?? [],
    paused: pausedStatus(env),
    maintenance: Object.keys(state.maintenance),
    diverged: Object.fromEntries(Object.entries(state.diverged).map(([k, v]) => [k, v.extraGtids])),
    fenced: Object.keys(state.exPrimaries),
    agents: agentsStatus(env),
    failovers: failoversStatus(env),
    topologyGeneration: state.topology.generation,
    history: state.history.map((h) => ({
      ...h,
      startedAt: iso(h.startedAt),
      endedAt: iso(h.endedAt),
    })),
    primaryPosition: state.primary
      ? formatGtidList(
          positionOf(
            parseGtidList(
              currentObservation(state, config, state.primary, now)?.gtidCurrentPos ?? "",
            ),
          ),
        )
      : null,
  };
}

/** While paused: since when, why, who, and what Marina would start on its own now. */
function pausedStatus(env: Env): Record<string, unknown> | null {
  const { state, ctx } = env;
  const p = state.paused;
  if (!p) return null;
  const d = diagnose(state, ctx.config, ctx.now, env.opts, null);
  return {
    since: iso(p.since),
    reason: p.reason,
    by: p.by,
    held: state.operation ? [] : automaticIntents(d, state.primary),
  };
}

function operationStatus(op: Operation): Record<string, unknown> {
  return {
    opId: op.opId,
    kind: op.kind,
    phase: op.phase,
    status: op.status,
    promoted: op.promoted,
    startedAt: iso(op.startedAt),
    servers: op.servers,
  };
}

/** Host agents of the config: ms since their last heartbeat (null: none seen yet). */
function agentsStatus(env: Env): Record<string, number | null> {
  const { state, ctx } = env;
  return Object.fromEntries(
    ctx.config.servers.flatMap((s) =>
      s.agentHost === undefined
        ? []
        : [
            [
              s.agentHost,
              state.heartbeats[s.agentHost]
                ? ctx.now - (state.heartbeats[s.agentHost]?.receivedAt ?? ctx.now)
                : null,
            ],
          ],
    ),
  );
}

function failoversStatus(env: Env): Record<string, unknown> {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const last = state.failovers.length ? Math.max(...state.failovers) : null;
  return {
    inWindow: failoversInWindow(config, state.failovers, now).length,
    maxPerWindow: config.failover.maxPerWindow,
    lastAt: last === null ? null : iso(last),
    cooldownUntil: last === null ? null : iso(last + config.failover.cooldownMs),
  };
}

/**
 * Seconds behind its source of a server seen now (the largest over its replication
 * connections; the last value seen while the server reports NULL), null when not seen now
 * or replicating from no one: what the HTTP API's replica health check compares.
 */
function lagSecondsOf(env: Env, server: string): number | null {
  const { state, ctx } = env;
  const obs = currentObservation(state, ctx.config, server, ctx.now);
  if (!obs || obs.replication.length === 0) return null;
  const lags = obs.replication.map((c) => lagOf(state, server, c));
  return lags.some((l) => l === null) ? null : Math.max(...(lags as number[]));
}
