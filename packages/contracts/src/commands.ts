import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { errorCodeList } from "./errors.js";
import { OpId, ServerName } from "./names.js";
import { retired } from "./retired.js";
import type { CommandVerb } from "./subjects.js";

export const Compression = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  z.strictObject({ kind: z.literal("pigz"), level: z.number().int().min(1).max(9).default(1) }),
  z.strictObject({ kind: z.literal("zstd"), level: z.number().int().min(1).max(19).default(1) }),
]);

const reason = z.string().max(1024).optional();
/** Who asks, as the requester states it (the `marina` CLI sends `user@host`); for the record only. */
const requestedBy = z.string().min(1).max(256).optional();

/** Payloads of commands on `marina.v1.<cluster>.cmd.<verb>`. All fields a person can type. */
export const CommandPayloads = {
  failover: z.strictObject({
    /** Promote this server; otherwise the best candidate. */
    target: ServerName.optional(),
    /** Fail over even when the primary looks alive to the monitor (it is fenced first). */
    force: z.boolean().default(false),
    reason,
  }),
  switchover: z.strictObject({
    target: ServerName.optional(),
    /**
     * Skip the pre-checks (a target in maintenance, never-promote or lagging, replicas left
     * without a source), and kill all client connections
     * of the primary — privileged ones too — instead of waiting for them (a stuck primary).
     */
    force: z.boolean().default(false),
    /** Per-phase timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    reason,
  }),
  rejoin: z.strictObject({ server: ServerName, reason }),
  rebuild: z.strictObject({
    target: ServerName,
    source: ServerName.optional(),
    method: z.enum(["physical", "logical"]).default("physical"),
    /** Removed: every rebuild goes through the agents named by the servers' agentHost. */
    transport: retired(
      "removed: SSH hosts are served by an agent now (the agent config's servers[].ssh); a rebuild always goes through the agents named by the target's and the source's agentHost, see docs/operations.md#rebuild",
    ),
    compression: Compression.default({ kind: "none" }),
    tls: z.boolean().default(false),
    reason,
  }),
  "set-maintenance": z.strictObject({ server: ServerName, reason }),
  "clear-maintenance": z.strictObject({ server: ServerName, reason }),
  "reset-failover-limits": z.strictObject({ reason }),
  cancel: z.strictObject({ opId: OpId, reason }),
  status: z.strictObject({}),
  /** Stop starting anything automatically (failover, rejoin, fences, ...); commands still run. */
  pause: z.strictObject({ reason, requestedBy }),
  resume: z.strictObject({ reason, requestedBy }),
} as const satisfies Record<CommandVerb, z.ZodType>;

export type CommandPayload<V extends CommandVerb> = z.infer<(typeof CommandPayloads)[V]>;

/** A command with its verb, as the decider handles it. */
export type Command = {
  [V in CommandVerb]: { verb: V; payload: CommandPayload<V> };
}[CommandVerb];

/** Limits of an error's text; errorBody() clips to them, so any input can be answered. */
export const ERROR_MESSAGE_MAX = 4096;
export const ERROR_PATH_MAX = 512;
export const VERB_MAX = 64;

export const ErrorBody = z.strictObject({
  code: z.enum(errorCodeList),
  message: z.string().max(ERROR_MESSAGE_MAX),
  /** Dotted path of the offending field, e.g. `target` or `compression.level`. */
  path: z.string().max(ERROR_PATH_MAX).optional(),
  retryable: z.boolean(),
});

export const CommandReply = z.discriminatedUnion("ok", [
  z.strictObject({
    ok: z.literal(true),
    verb: z.string().max(VERB_MAX),
    /** Set when the command started an operation; follow it on `op.<opId>`. */
    opId: OpId.optional(),
    message: z.string().max(4096),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
  z.strictObject({ ok: z.literal(false), verb: z.string().max(VERB_MAX), error: ErrorBody }),
]);

export const CommandReplyMessage = envelopeOf("command-reply", CommandReply);

const commandMessage = <V extends CommandVerb>(verb: V) =>
  envelopeOf(`cmd.${verb}`, CommandPayloads[verb]);

/** Each command's envelope form; a bare payload object is accepted as well (see parseCommand). */
export const CommandMessages = Object.fromEntries(
  Object.keys(CommandPayloads).map((verb) => [verb, commandMessage(verb as CommandVerb)]),
) as { [V in CommandVerb]: ReturnType<typeof commandMessage<V>> };

/**
 * How a command body is read. A JSON object with an own `type` or `payload` key is an
 * envelope, and must be a whole valid one: strict, `type` `cmd.<verb>` of the subject,
 * `version` 1, `id`, ISO `time`, `source`. Anything else is the bare payload. So no command
 * payload may have a field with one of these names (a test over CommandPayloads checks it).
 */
export const ENVELOPE_MARKERS = ["type", "payload"] as const;

export function isCommandEnvelope(body: unknown): body is Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  return ENVELOPE_MARKERS.some((k) => Object.hasOwn(body, k));
}

export type ErrorBody = z.infer<typeof ErrorBody>;
export type CommandReply = z.infer<typeof CommandReply>;
export type Compression = z.infer<typeof Compression>;
