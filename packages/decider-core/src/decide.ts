import { isDryRun } from "@marina/contracts/commands";
import { isHostStep } from "@marina/contracts/executor";
import { errorBody } from "@marina/contracts/parse";
import { handleCommand } from "./commands/index.js";
import type { Diagnosis } from "./diagnose/findings.js";
import { diagnose } from "./diagnose.js";
import { dryRunReply } from "./dry-run/index.js";
import { onStrictResult, sendSemiSyncOff, sendStrictDurability } from "./durability.js";
import { onFenceResult, sendFences } from "./enforce.js";
import { onAgentProgress, onAgentResult } from "./engine/agent-results.js";
import { onResume, onTick, startOperation } from "./engine/operation.js";
import { expirePostHooks, onPostHookResult } from "./engine/post-hooks.js";
import { onStepResult } from "./engine/step-results.js";
import { situationEvent } from "./events.js";
import { holdWhilePaused } from "./held-automation.js";
import { historyAction, historyRequest, refusalRecord } from "./history.js";
import { recordHeartbeat, recordSample } from "./knowledge.js";
import { optionsOf } from "./options.js";
import type { Env } from "./plans/common.js";
import { planRegistry } from "./plans/index.js";
import { recordLastKnown, trackAllDown } from "./policies/all-down.js";
import { autoFlashback } from "./policies/auto-flashback.js";
import { autoRebuild } from "./policies/auto-rebuild.js";
import { preemptForFailover } from "./policies/rebuild-preemption.js";
import { onRestoreResult, sendRestoreWrites } from "./restore-writes.js";
import { divergedNow, onBinlogSaveResult, sendBinlogSaves } from "./save-binlogs.js";
import { situationOfTag } from "./situations.js";
import { cloneState, type DeciderState, upgradeState } from "./state.js";
import { buildTopology, learnPrimary, topologyKey } from "./topology.js";
import type { Action, Ctx, DecideResult, Input } from "./types.js";

/**
 * The decider's pure core: the next state and what to do, from the current state, one input
 * and the context. No clock, no I/O, no randomness: the same arguments give the same result.
 * The input state is not modified.
 */
export function decide(state: DeciderState, input: Input, ctx: Ctx): DecideResult {
  const env: Env = {
    state: upgradeState(cloneState(state)),
    ctx,
    opts: optionsOf(ctx.options),
    actions: [],
    plans: planRegistry,
  };
  if (env.state.cluster !== ctx.config.name) {
    throw new Error(`state of cluster ${env.state.cluster} used with config of ${ctx.config.name}`);
  }
  record(env, input);
  if (!ctx.leader) {
    // A follower keeps its knowledge current and acts on nothing.
    if (input.kind === "command") {
      env.actions.push({
        kind: "reply",
        requestId: input.requestId,
        reply: {
          ok: false,
          verb: input.command.verb,
          error: errorBody("NOT_LEADER", `${ctx.source} is not the leader of ${ctx.config.name}`),
        },
        reason: "not the leader",
      });
    }
    return { state: env.state, actions: env.actions };
  }
  if (input.kind === "command" && isDryRun(input.command)) {
    // Answered from a copy of the state (dry-run/): nothing changes, nothing else is sent.
    const reply = dryRunReply(env, input.requestId, input.command);
    env.actions.push({ kind: "reply", requestId: input.requestId, reply, reason: "dry run" });
    return { state: env.state, actions: env.actions };
  }
  act(env, input);
  evaluate(env);
  return { state: env.state, actions: env.actions };
}

function record(env: Env, input: Input) {
  switch (input.kind) {
    case "health": {
      const { sample } = input;
      const taken = recordSample(env.state, env.ctx.config, sample, env.ctx.now);
      if (taken && sample.reachable && sample.observation) {
        recordLastKnown(env.state, env.ctx.config, sample.server, sample.observation, env.ctx.now);
      }
      return;
    }
    case "agent-heartbeat":
      recordHeartbeat(env.state, input.heartbeat, env.ctx.now);
      return;
    case "command":
    case "step-result":
    case "tick":
    case "resume":
    case "agent-result":
    case "agent-progress":
      return;
    default: {
      const never: never = input;
      return never;
    }
  }
}

function act(env: Env, input: Input) {
  switch (input.kind) {
    case "health":
    case "agent-heartbeat":
      return;
    case "command":
      onCommand(env, input);
      return;
    case "step-result":
      if (
        !onStepResult(env, input.opId, input.stepId, input.result) &&
        !onPostHookResult(env, input.opId, input.stepId, input.result) &&
        !onFenceResult(env, input.opId, input.stepId, input.result) &&
        !onRestoreResult(env, input.opId, input.stepId, input.result) &&
        !onBinlogSaveResult(env, input.opId, input.result)
      ) {
        onStrictResult(env, input.opId, input.result);
      }
      return;
    case "tick":
      onTick(env);
      expirePostHooks(env);
      return;
    case "resume":
      onResume(env);
      return;
    case "agent-result":
      onAgentResult(env, input.opId, input.key, input.via, input.result);
      return;
    case "agent-progress":
      onAgentProgress(env, input.opId, input.key, input.progress);
      return;
    default: {
      const never: never = input;
      return never;
    }
  }
}

/**
 * A command, answered by its handler. An operation it starts keeps the request for its
 * history record; a refused operation command gets a record of its own.
 */
function onCommand(env: Env, input: Extract<Input, { kind: "command" }>) {
  const request = historyRequest(input.command, input.origin, env.ctx.now);
  env.request = { requestId: input.requestId, request };
  handleCommand(env, input.requestId, input.command);
  delete env.request;
  const answer = env.actions.find((a) => a.kind === "reply" && a.requestId === input.requestId);
  if (answer?.kind !== "reply") return;
  const refused = refusalRecord(env, input.requestId, request, answer.reply);
  if (refused) env.actions.push(historyAction(refused));
}

function emitSituations(env: Env, d: Diagnosis) {
  const { state, ctx } = env;
  const next: Record<string, string[]> = {};
  for (const subject of d.carry) next[subject] = [...(state.situations[subject] ?? [])];
  for (const f of d.findings) {
    const tags = next[f.subject] ?? [];
    if (!tags.includes(f.tag)) tags.push(f.tag);
    next[f.subject] = tags;
  }
  const emitted = new Set<string>();
  for (const f of d.findings) {
    const key = `${f.subject}\u0000${f.tag}`;
    if (emitted.has(key) || (state.situations[f.subject] ?? []).includes(f.tag)) continue;
    emitted.add(key);
    env.actions.push(
      situationEvent(ctx.config.name, ctx.epoch, situationOfTag(f.tag), f.server, f.reason, {
        extraGtids: f.extraGtids,
        details: f.details,
      }),
    );
  }
  state.situations = Object.fromEntries(
    Object.entries(next)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

/** After every input on the leader: learn, diagnose, act on the diagnosis, publish. */
function evaluate(env: Env) {
  const { state, ctx } = env;
  const { config, now } = ctx;
  let learn: { reason: string; waiting: boolean } | null = null;
  if (state.primary === null) {
    const l = learnPrimary(state, config, now);
    learn = l;
    if (l.primary !== null) state.primary = l.primary;
  }
  trackAllDown(state, config, now);
  // Paused: the situations are reported, no automatic action is taken (held-automation.ts).
  const d = holdWhilePaused(diagnose(state, config, now, env.opts, learn), state.paused);
  for (const x of d.diverged) {
    state.diverged[x.server] = {
      since: state.diverged[x.server]?.since ?? now,
      extraGtids: x.extra,
      reason: x.reason,
      situation: x.situation,
      ...(x.errant ? { errant: true } : {}),
    };
    delete state.exPrimaries[x.server];
  }
  for (const server of d.undiverged) delete state.diverged[server];
  state.errantSeen = d.errantSeen;
  emitSituations(env, d);
  preemptForFailover(env, d);

  if (state.operation === null) startAutomatic(env, d);
  // Decided before any operation above started: drop servers that operation now works on.
  // (A rebuild's target is not dropped while only its agent works on it: a restored server
  // that comes up writable is fenced at once.)
  // (Hooks touch no server.)
  const involved = new Set(
    state.operation?.steps.filter((x) => !isHostStep(x.step)).map((x) => x.server),
  );
  sendFences(
    env,
    d.fences.filter((x) => !involved.has(x.server)),
  );
  if (d.restoreWrites && !involved.has(d.restoreWrites.server)) {
    sendRestoreWrites(env, d.restoreWrites);
  }
  if (d.enforceStrict && !involved.has(d.enforceStrict)) sendStrictDurability(env, d.enforceStrict);
  for (const r of d.semiSyncOff) if (!involved.has(r)) sendSemiSyncOff(env, r);
  sendBinlogSaves(env, divergedNow(env, d.findings), involved);
  publishTopology(env, d);
}

/** What starts by itself when no operation runs: a failover, a rejoin, a rebuild. */
function startAutomatic(env: Env, d: Diagnosis) {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const primary = state.primary;
  if (primary === null) return;
  if (d.failover) {
    const failed = primary;
    state.failovers.push(now);
    startOperation(env, {
      kind: "failover",
      requestId: null,
      reason: d.failover.reason,
      servers: { failed, candidate: d.failover.choice.candidate },
      plan: {
        kind: "failover",
        failed,
        target: null,
        manual: false,
        fenceOld: false,
        candidate: null,
        connection: null,
        pulls: [],
        repoint: [],
        skipped: [],
      },
    });
  } else if (d.rejoin) {
    const r = d.rejoin;
    startOperation(env, {
      kind: "rejoin",
      requestId: null,
      reason: `${r.why}: ${r.server} rejoins ${primary}`,
      servers: { server: r.server, primary },
      plan: {
        kind: "rejoin",
        server: r.server,
        primary,
        connection: r.connection,
        useGtid: r.useGtid,
        wasPrimary: r.wasPrimary,
        auto: true,
      },
    });
  } else if (autoFlashback(env) === null && config.failover.autoRebuild) {
    autoRebuild(env);
  }
}

function publishTopology(env: Env, d: Diagnosis) {
  const { state, ctx } = env;
  if (state.primary === null && state.topology.key === null) return;
  // The primary's verdict may have changed with the operation that just ran.
  const primaryDown =
    d.assessment !== null &&
    d.assessment.primary === state.primary &&
    d.assessment.verdict === "dead";
  const op = state.operation;
  // Servers worked on through their agent only are not kept: a rebuild's target is stopped
  // and replaced, which its live role shows.
  // Nor those named by a hook's step only (hooks touch no server).
  const keepRoles = op
    ? [...new Set(op.steps.filter((s) => !isHostStep(s.step)).map((s) => s.server))].filter(
        (n) => n !== state.primary && !state.exPrimaries[n],
      )
    : [];
  const t = buildTopology(state, ctx.config, {
    now: ctx.now,
    epoch: ctx.epoch,
    primaryDown,
    keepRoles,
  });
  const key = topologyKey(t);
  if (key === state.topology.key) return;
  const generation = state.topology.generation + 1;
  const topology = { ...t, generation };
  state.topology = { generation, key, last: topology };
  const action: Action = {
    kind: "topology",
    topology,
    reason: `primary ${topology.primary ?? "none"}, roles ${topology.servers.map((s) => `${s.name}=${s.role}`).join(" ")}`,
  };
  env.actions.push(action);
}
