// The ask-veto step: one NATS request on the veto subject, every reply collected for the
// step's timeout. A reply is a VetoReply, bare or in its envelope (`veto-reply`); one with
// `veto: true` blocks, an invalid one is counted and ignored. No reply blocks only when the
// step says a reply is required.
import {
  type ExecStep,
  envelope,
  mustParse,
  subjects,
  type VetoOutcome,
  VetoReply,
  VetoReplyMessage,
  VetoRequestMessage,
} from "@marina/contracts";
import { StepError } from "../steps/context.js";
import type { HostStepContext } from "./context.js";

const MAX_REPLIES = 64;

/** A reply as bytes: a bare VetoReply or its envelope; null when it is neither. */
export function readVetoReply(data: Uint8Array): VetoReply | null {
  try {
    const raw: unknown = JSON.parse(new TextDecoder().decode(data));
    const isEnvelope =
      typeof raw === "object" && raw !== null && ("type" in raw || "payload" in raw);
    const r = isEnvelope ? VetoReplyMessage.safeParse(raw) : VetoReply.safeParse(raw);
    if (!r.success) return null;
    return "payload" in r.data ? r.data.payload : r.data;
  } catch {
    return null;
  }
}

/** What the replies amount to. */
export function vetoOutcome(
  replies: readonly (VetoReply | null)[],
  required: boolean,
): VetoOutcome {
  const all = replies.filter((r) => r !== null);
  const invalid = replies.length - all.length;
  // Counted over every valid reply: the cap only bounds what is reported, so a veto after
  // 64 consents (many responders, or a flood) still blocks.
  const vetoes = all.filter((r) => r.veto);
  // Reported: the vetoes first, then consents, up to the cap.
  const valid = [...vetoes, ...all.filter((r) => !r.veto)].slice(0, MAX_REPLIES);
  const reason =
    vetoes.length > 0
      ? vetoes.map((v) => `${v.responder}: ${v.reason || "veto"}`).join("; ")
      : required && all.length === 0
        ? `no valid reply (veto.required)${invalid > 0 ? `, ${invalid} invalid` : ""}`
        : "";
  return { vetoed: reason !== "", replies: valid, invalid, reason: reason.slice(0, 4096) };
}

export async function askVeto(
  ctx: HostStepContext,
  step: Extract<ExecStep, { kind: "ask-veto" }>,
): Promise<Record<string, unknown>> {
  const { request } = ctx;
  const message = mustParse(
    VetoRequestMessage,
    envelope("veto-request", ctx.source, {
      cluster: request.cluster,
      opId: request.opId,
      operation: step.operation,
      trigger: step.context.trigger,
      forced: step.context.forced,
      oldPrimary: step.context.oldPrimary,
      newPrimary: step.context.newPrimary,
      reason: step.context.reason,
      timeoutMs: step.timeoutMs,
    }),
  );
  const subject = subjects.veto(request.cluster, step.operation);
  const raw = await ctx.ask(
    subject,
    new TextEncoder().encode(JSON.stringify(message)),
    step.timeoutMs,
  );
  const outcome = vetoOutcome(raw.map(readVetoReply), step.required);
  ctx.log.info(
    { subject, replies: outcome.replies.length, invalid: outcome.invalid, vetoed: outcome.vetoed },
    outcome.vetoed ? `vetoed: ${outcome.reason}` : "no veto",
  );
  if (outcome.vetoed)
    throw new StepError("VETOED", `vetoed on ${subject}: ${outcome.reason}`, outcome);
  return outcome;
}
