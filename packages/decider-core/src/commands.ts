import type { Command, CommandReply } from "@marina/contracts/commands";
import type { ErrorCode } from "@marina/contracts/errors";
import { formatGtidList, parseGtidList, positionOf } from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import { errorBody } from "@marina/contracts/parse";
import { chooseCandidate } from "./candidates.js";
import { failoversInWindow } from "./constraints.js";
import { replicatingFine } from "./donors.js";
import { situationEvent } from "./events.js";
import { assessPrimary } from "./evidence.js";
import {
  connectionsTo,
  currentObservation,
  isKnownServer,
  observedSinceChange,
  reachability,
  sourceOf,
} from "./knowledge.js";
import { cancelOperation, startOperation } from "./operation.js";
import type { Env } from "./plans/common.js";
import { checkRebuild, startRebuild } from "./plans/rebuild.js";
import { checkRejoin, historyOf } from "./plans/rejoin.js";
import { noteSituation } from "./situations.js";
import { buildTopology } from "./topology.js";

// Rule 7, commands. Each is checked against the current knowledge and answered at once: an
// operation that starts is followed on op.<opId>; a refusal has a stable error code.

function ok(
  verb: string,
  message: string,
  extra: { opId?: string; data?: Record<string, unknown> } = {},
): CommandReply {
  return { ok: true, verb, message, ...extra };
}

function refuse(verb: string, code: ErrorCode, message: string, path?: string): CommandReply {
  return { ok: false, verb, error: errorBody(code, message, path) };
}

function reply(env: Env, requestId: string, r: CommandReply) {
  env.actions.push({
    kind: "reply",
    requestId,
    reply: r,
    reason: r.ok
      ? `${r.verb}: ${r.message}`
      : `${r.verb} refused (${r.error.code}): ${r.error.message}`,
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Reachable servers (among `names`) whose latest observation predates our last change to
 * them: what we know of them is how they were before, so a choice made on it could refuse
 * a good target or pick a bad one. Usually empty: operations end by inspecting what they
 * changed (confirmPhase), and the next sample settles the rest.
 */
function unconfirmed(env: Env, names: readonly string[]): string[] {
  const { state, ctx } = env;
  return names.filter(
    (n) =>
      reachability(state, ctx.config, n, ctx.now) === "reachable" && !observedSinceChange(state, n),
  );
}

/** Retryable: the knowledge catches up within a probe interval. */
function notConfirmed(verb: string, names: string[]): CommandReply {
  return refuse(
    verb,
    "NOT_CONFIRMED",
    `${names.join(", ")} changed by the last operation and not observed since: retry in a moment`,
  );
}

/** The servers a candidate choice reads: the target only, or every server but the primary. */
function choiceReads(env: Env, primary: string, target: string | undefined): string[] {
  if (target !== undefined) return [target];
  return env.ctx.config.servers.map((s) => s.name).filter((n) => n !== primary);
}

export function handleCommand(env: Env, requestId: string, command: Command) {
  reply(env, requestId, answer(env, requestId, command));
}

function answer(env: Env, requestId: string, command: Command): CommandReply {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const verb = command.verb;
  const unknown = (name: string, path: string) =>
    refuse(verb, "UNKNOWN_SERVER", `${name} is not a server of cluster ${config.name}`, path);
  const busy = () =>
    refuse(
      verb,
      "OPERATION_IN_PROGRESS",
      `${state.operation?.kind} ${state.operation?.opId} is running (phase ${state.operation?.phase})`,
    );

  switch (command.verb) {
    case "failover": {
      const { target, force } = command.payload;
      if (target !== undefined && !isKnownServer(config, target)) return unknown(target, "target");
      if (state.operation) return busy();
      const primary = state.primary;
      if (primary === null)
        return refuse(verb, "NOT_APPLICABLE", "no primary is known: nothing to fail over from");
      const a = assessPrimary(state, config, primary, now, env.opts.agentHeartbeatFreshMs);
      const down = a.verdict === "dead" || a.verdict === "unreachable-seen-by-replicas";
      if (!down && !force) {
        return refuse(
          verb,
          "PRIMARY_ALIVE",
          `${primary} is not confirmed failed (${a.verdict}: ${a.reason}); use switchover, or force`,
        );
      }
      const stale = unconfirmed(env, choiceReads(env, primary, target));
      if (stale.length > 0) return notConfirmed(verb, stale);
      const servers: Record<string, ServerObservation | null> = {};
      for (const s of config.servers) {
        if (s.name !== primary) servers[s.name] = currentObservation(state, config, s.name, now);
      }
      const choice = chooseCandidate({
        config,
        primary,
        servers,
        maintenance: Object.keys(state.maintenance),
        diverged: Object.keys(state.diverged),
        lastLag: state.lastLag,
        target: target ?? null,
        mode: "failover",
      });
      if (!choice.ok)
        return refuse(
          verb,
          choice.code,
          choice.reason,
          target !== undefined ? "target" : undefined,
        );
      state.failovers.push(now);
      const op = startOperation(env, {
        kind: "failover",
        requestId,
        reason:
          command.payload.reason ?? `manual failover${force ? " (forced)" : ""} of ${primary}`,
        servers: { failed: primary, candidate: choice.candidate },
        plan: {
          kind: "failover",
          failed: primary,
          target: target ?? null,
          manual: true,
          // Any sign of life means it may still take writes: fence before promoting.
          fenceOld: !down,
          candidate: null,
          connection: null,
          pulls: [],
          repoint: [],
          skipped: [],
        },
      });
      return ok(
        verb,
        `failover of ${primary} started; candidate ${choice.candidate} (re-checked after inspection)`,
        { opId: op.opId },
      );
    }

    case "switchover": {
      const { target, force, timeoutMs } = command.payload;
      if (target !== undefined && !isKnownServer(config, target)) return unknown(target, "target");
      if (state.operation) return busy();
      const primary = state.primary;
      if (primary === null) return refuse(verb, "NOT_APPLICABLE", "no primary is known");
      if (reachability(state, config, primary, now) !== "reachable") {
        return refuse(verb, "NOT_APPLICABLE", `${primary} is not reachable: use failover`);
      }
      const stale = unconfirmed(env, choiceReads(env, primary, target));
      if (stale.length > 0) return notConfirmed(verb, stale);
      const servers: Record<string, ServerObservation | null> = {};
      for (const s of config.servers) {
        if (s.name !== primary) servers[s.name] = currentObservation(state, config, s.name, now);
      }
      const choice = chooseCandidate({
        config,
        primary,
        servers,
        maintenance: Object.keys(state.maintenance),
        diverged: Object.keys(state.diverged),
        lastLag: state.lastLag,
        target: target ?? null,
        mode: "switchover",
      });
      if (!choice.ok)
        return refuse(
          verb,
          choice.code,
          choice.reason,
          target !== undefined ? "target" : undefined,
        );
      const op = startOperation(env, {
        kind: "switchover",
        requestId,
        reason: command.payload.reason ?? `switchover from ${primary} to ${choice.candidate}`,
        servers: { old: primary, target: choice.candidate },
        plan: {
          kind: "switchover",
          old: primary,
          target: choice.candidate,
          connection: choice.connection,
          timeoutMs,
          force,
          finalPos: null,
          repoint: [],
        },
      });
      return ok(verb, `switchover from ${primary} to ${choice.candidate} started`, {
        opId: op.opId,
      });
    }

    case "rejoin": {
      const { server } = command.payload;
      if (!isKnownServer(config, server)) return unknown(server, "server");
      if (state.operation) return busy();
      const primary = state.primary;
      if (primary === null) return refuse(verb, "NOT_APPLICABLE", "no primary is known");
      if (server === primary) return refuse(verb, "NOT_APPLICABLE", `${server} is the primary`);
      if (state.maintenance[server])
        return refuse(verb, "REFUSED", `${server} is in maintenance: clear-maintenance first`);
      const dv = state.diverged[server];
      if (dv)
        return refuse(verb, "NOT_APPLICABLE", `${server} diverged (${dv.extraGtids}): rebuild it`);
      const obs = currentObservation(state, config, server, now);
      if (!obs) return refuse(verb, "SERVER_UNREACHABLE", `${server} is not reachable`);
      const pobs = currentObservation(state, config, primary, now);
      if (!pobs) return refuse(verb, "NOT_APPLICABLE", `the primary ${primary} is not reachable`);
      const check = checkRejoin(obs, historyOf(pobs));
      if (!check.ok) {
        if (check.diverged) {
          const situation = state.exPrimaries[server] ? "OldPrimaryDiverged" : "ServerDiverged";
          state.diverged[server] = {
            since: now,
            extraGtids: check.extra,
            reason: check.reason,
            situation,
          };
          delete state.exPrimaries[server];
          noteSituation(state, server, situation);
          env.actions.push(
            situationEvent(
              config.name,
              ctx.epoch,
              situation,
              server,
              `${server} ${check.reason}: left for a rebuild`,
              {
                extraGtids: check.extra,
              },
            ),
          );
        }
        return refuse(verb, "NOT_APPLICABLE", `${server} ${check.reason}`);
      }
      if (!state.exPrimaries[server] && replicatingFine(env, server)) {
        return refuse(verb, "NOT_APPLICABLE", `${server} already replicates from the topology`);
      }
      const toPrimary = connectionsTo(config, obs, primary)[0];
      const stray = obs.replication.find((c) => sourceOf(config, c) !== null);
      const conn = toPrimary ?? stray;
      const op = startOperation(env, {
        kind: "rejoin",
        requestId,
        reason: command.payload.reason ?? `rejoin ${server} to ${primary}`,
        servers: { server, primary },
        plan: {
          kind: "rejoin",
          server,
          primary,
          connection: conn?.connection ?? "",
          useGtid: conn?.usingGtid === "Current_Pos" ? "current_pos" : "slave_pos",
          wasPrimary: state.exPrimaries[server] !== undefined,
          auto: false,
        },
      });
      return ok(verb, `rejoin of ${server} to ${primary} started`, { opId: op.opId });
    }

    case "rebuild": {
      const check = checkRebuild(env, command.payload);
      if (!check.ok) return refuse(verb, check.code, check.message, check.path);
      const op = startRebuild(env, check, {
        requestId,
        auto: false,
        reason:
          command.payload.reason ??
          `rebuild ${check.target} from ${check.source}${check.chosen ? " (chosen)" : ""}`,
      });
      return ok(verb, `rebuild of ${check.target} from ${check.source} started`, {
        opId: op.opId,
      });
    }

    case "set-maintenance": {
      const { server, reason } = command.payload;
      if (!isKnownServer(config, server)) return unknown(server, "server");
      state.maintenance[server] = { since: now, reason: reason ?? "set by command" };
      return ok(
        verb,
        `${server} is in maintenance: never promoted, never repointed or fenced automatically`,
      );
    }

    case "clear-maintenance": {
      const { server } = command.payload;
      if (!isKnownServer(config, server)) return unknown(server, "server");
      const was = state.maintenance[server] !== undefined;
      delete state.maintenance[server];
      return ok(verb, was ? `${server} is out of maintenance` : `${server} was not in maintenance`);
    }

    case "reset-failover-limits": {
      const n = state.failovers.length;
      state.failovers = [];
      return ok(verb, `failover cooldown and window cleared (${n} failovers forgotten)`);
    }

    case "cancel": {
      const { opId, reason } = command.payload;
      const op = state.operation;
      if (!op || op.opId !== opId) {
        return refuse(verb, "NOT_APPLICABLE", `no running operation ${opId}`, "opId");
      }
      const message = cancelOperation(env, reason ?? "cancelled by command");
      return ok(verb, message, { opId });
    }

    case "status":
      return ok(verb, `cluster ${config.name}: primary ${state.primary ?? "unknown"}`, {
        data: statusOf(env),
      });

    default: {
      const never: never = command;
      return refuse(String((never as { verb: string }).verb), "UNKNOWN_COMMAND", "unknown command");
    }
  }
}

function statusOf(env: Env): Record<string, unknown> {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const op = state.operation;
  const topo = buildTopology(state, config, {
    now,
    epoch: ctx.epoch,
    primaryDown:
      state.primary !== null &&
      assessPrimary(state, config, state.primary, now, env.opts.agentHeartbeatFreshMs).verdict ===
        "dead",
  });
  const last = state.failovers.length ? Math.max(...state.failovers) : null;
  return {
    cluster: config.name,
    decider: ctx.source,
    epoch: ctx.epoch,
    primary: state.primary,
    writer: topo.writer,
    operation: op
      ? {
          opId: op.opId,
          kind: op.kind,
          phase: op.phase,
          status: op.status,
          promoted: op.promoted,
          startedAt: iso(op.startedAt),
          servers: op.servers,
        }
      : null,
    servers: topo.servers.map((s) => ({
      name: s.name,
      role: s.role,
      readOnly: s.readOnly,
      gtidCurrentPos: s.gtidCurrentPos,
      situations: state.situations[s.name] ?? [],
      reason: s.reason,
    })),
    clusterSituations: state.situations["*"] ?? [],
    maintenance: Object.keys(state.maintenance),
    diverged: Object.fromEntries(Object.entries(state.diverged).map(([k, v]) => [k, v.extraGtids])),
    fenced: Object.keys(state.exPrimaries),
    // Host agents of the config: ms since their last heartbeat (null: none seen yet).
    agents: Object.fromEntries(
      config.servers.flatMap((s) =>
        s.agentHost === undefined
          ? []
          : [
              [
                s.agentHost,
                state.heartbeats[s.agentHost]
                  ? now - (state.heartbeats[s.agentHost]?.receivedAt ?? now)
                  : null,
              ],
            ],
      ),
    ),
    failovers: {
      inWindow: failoversInWindow(config, state.failovers, now).length,
      maxPerWindow: config.failover.maxPerWindow,
      lastAt: last === null ? null : iso(last),
      cooldownUntil: last === null ? null : iso(last + config.failover.cooldownMs),
    },
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
