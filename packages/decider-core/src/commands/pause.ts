import type { CommandReply } from "@marina/contracts/commands";
import { situationEvent } from "../events.js";
import { pausedReason } from "../pause.js";
import { CLUSTER, noteSituation } from "../situations.js";
import type { CommandCall } from "./handler.js";
import { ok } from "./replies.js";

// Pausing and resuming automation (pause.ts). Both are idempotent: pausing a paused cluster
// keeps the first pause (its time, reason and requester), resuming a running one says so.

export function pauseCommand({ env, verb, payload }: CommandCall<"pause">): CommandReply {
  const { state, ctx } = env;
  if (state.paused) {
    return ok(verb, `already paused: ${pausedReason(state.paused)}`, {
      data: { paused: true, changed: false },
    });
  }
  const p = {
    since: ctx.now,
    reason: payload.reason ?? "paused by command",
    by: payload.requestedBy ?? null,
  };
  state.paused = p;
  // Emitted here, with who asked; the diagnosis keeps the tag while paused.
  env.actions.push(
    situationEvent(ctx.config.name, ctx.epoch, "Paused", null, pausedReason(p), {
      details: { reason: p.reason, requestedBy: p.by, since: p.since },
    }),
  );
  noteSituation(state, CLUSTER, "Paused");
  const running = state.operation
    ? `; ${state.operation.kind} ${state.operation.opId} goes on (cancel stops it)`
    : "";
  return ok(verb, `automation paused on ${ctx.config.name}: nothing starts on its own${running}`, {
    data: { paused: true, changed: true },
  });
}

export function resumeCommand({ env, verb, payload }: CommandCall<"resume">): CommandReply {
  const { state, ctx } = env;
  const was = state.paused;
  if (!was) {
    return ok(verb, `${ctx.config.name} was not paused`, {
      data: { paused: false, changed: false },
    });
  }
  state.paused = null;
  const reason = payload.reason ?? "resumed by command";
  const by = payload.requestedBy ?? null;
  const pausedFor = ctx.now - was.since;
  env.actions.push(
    situationEvent(
      ctx.config.name,
      ctx.epoch,
      "Resumed",
      null,
      `automation resumed${by ? ` by ${by}` : ""} (${reason}) after ${pausedFor} ms paused`,
      { details: { reason, requestedBy: by, pausedForMs: pausedFor } },
    ),
  );
  return ok(verb, `automation resumed on ${ctx.config.name}`, {
    data: { paused: false, changed: true },
  });
}
