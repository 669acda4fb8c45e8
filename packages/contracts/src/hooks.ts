import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { ClusterName, OpId, ServerName } from "./names.js";

// Hooks (config `clusters[].hooks`): programs an EXECUTOR runs around a failover or a
// switchover, and the NATS veto subject any system may answer. A pre hook that does not
// exit 0 in time, or a veto reply, blocks an automatic failover (and a switchover without
// `force`) before anything is changed on a server; post hooks run once the operation ended,
// best effort. The executor runs only the programs of its own config: a step names the hook,
// never the program, so whoever may send steps cannot make an executor run anything else.

/** The hooks, by name. Each post hook runs after success and after failure (MARINA_RESULT). */
export const HookNames = [
  "preFailover",
  "preSwitchover",
  "postFailover",
  "postSwitchover",
] as const;
export const HookName = z.enum(HookNames);
export type HookName = z.infer<typeof HookName>;

/** Bytes of stdout and of stderr kept of a hook's output (the rest is dropped, counted). */
export const HOOK_OUTPUT_MAX = 4096;

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be an environment variable name")
  .refine((n) => !n.startsWith("MARINA_"), "MARINA_* variables are set by Marina");

/** One hook program: run with an argument array, no shell, killed (its process group) at the timeout. */
export const HookSpec = z.strictObject({
  /** argv[0] is the program's absolute path; the rest its arguments, passed as they are. */
  argv: z
    .array(z.string().max(4096))
    .min(1)
    .max(64)
    .refine((a) => /^\/./.test(a[0] ?? ""), {
      message: "argv[0] must be the program's absolute path (no shell runs it)",
      path: [0],
    }),
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /**
   * The hook's environment besides the MARINA_* variables (and PATH, default
   * /usr/local/bin:/usr/bin:/bin). Nothing of the executor's own environment is passed.
   */
  env: z.record(EnvName, z.string().max(4096)).default({}),
});
export type HookSpec = z.infer<typeof HookSpec>;

/** The NATS veto subject (`marina.v1.<cluster>.veto.<operation>`). */
export const VetoSettings = z.strictObject({
  enabled: z.boolean().default(false),
  /** How long replies are collected; every reply within it counts. */
  timeoutMs: z.number().int().min(100).max(60_000).default(2_000),
  /** true: no reply at all blocks too (a responder must say yes). Default: silence is consent. */
  required: z.boolean().default(false),
});
export type VetoSettings = z.infer<typeof VetoSettings>;

export const HooksSettings = z.strictObject({
  preFailover: HookSpec.optional(),
  preSwitchover: HookSpec.optional(),
  postFailover: HookSpec.optional(),
  postSwitchover: HookSpec.optional(),
  veto: VetoSettings.prefault({}),
  /**
   * After a veto, automatic failover of the same primary is held for this long (a
   * `FailoverBlocked` situation with code `veto`), then tried again — hooks and veto asked
   * anew. `cmd.reset-failover-limits` ends the hold at once.
   */
  vetoHoldMs: z.number().int().min(1_000).max(86_400_000).default(30_000),
});
export type HooksSettings = z.infer<typeof HooksSettings>;

/** The operations hooks and vetoes concern. */
export const HookedOperation = z.enum(["failover", "switchover"]);
export type HookedOperation = z.infer<typeof HookedOperation>;

/** What a hook and a veto responder are told about the operation (no secret ever). */
export const HookContext = z.strictObject({
  operation: HookedOperation,
  /** Started by Marina on its own (`automatic`) or by a command. */
  trigger: z.enum(["automatic", "command"]),
  /** A forced command: a veto is recorded, never obeyed. */
  forced: z.boolean(),
  oldPrimary: ServerName,
  /** The server promoted, or to be; null when none was chosen (a post hook of a failure). */
  newPrimary: ServerName.nullable(),
  reason: z.string().max(1024),
  /** Post hooks: how the operation ended. */
  result: z.enum(["succeeded", "failed", "cancelled"]).nullable(),
  /** Post hooks of a failure: its error message. */
  error: z.string().max(1024).nullable(),
});
export type HookContext = z.infer<typeof HookContext>;

/**
 * Asked on `marina.v1.<cluster>.veto.<operation>` by an executor before the operation
 * changes anything; every responder may answer (NATS request, many replies).
 */
export const VetoRequest = z.strictObject({
  cluster: ClusterName,
  opId: OpId,
  ...HookContext.omit({ result: true, error: true }).shape,
  /** How long replies are collected. */
  timeoutMs: z.number().int().min(1),
});
export type VetoRequest = z.infer<typeof VetoRequest>;

export const VetoReply = z.strictObject({
  veto: z.boolean(),
  /** Shown in the FailoverBlocked event and the operation's record. */
  reason: z.string().max(1024).default(""),
  /** Who answers (a name of the responder's choosing). */
  responder: z.string().min(1).max(128),
});
export type VetoReply = z.infer<typeof VetoReply>;

export const VetoRequestMessage = envelopeOf("veto-request", VetoRequest);
export const VetoReplyMessage = envelopeOf("veto-reply", VetoReply);

/** What a run-hook step reports (its `data`, ok or not). */
export const HookOutcome = z.strictObject({
  hook: HookName,
  /** null: killed by a signal, timed out or never started. */
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  timedOut: z.boolean(),
  /** Why it could not start (ENOENT, EACCES …), else null. */
  spawnError: z.string().max(1024).nullable(),
  stdout: z.string().max(HOOK_OUTPUT_MAX),
  stderr: z.string().max(HOOK_OUTPUT_MAX),
  /** Bytes dropped beyond HOOK_OUTPUT_MAX, of both streams. */
  truncatedBytes: z.number().int().min(0),
  durationMs: z.number().min(0),
});
export type HookOutcome = z.infer<typeof HookOutcome>;

/** What an ask-veto step reports (its `data`). */
export const VetoOutcome = z.strictObject({
  vetoed: z.boolean(),
  replies: z.array(VetoReply).max(64),
  /** Replies that failed their schema (ignored), counted. */
  invalid: z.number().int().min(0),
  /** Why it blocked, in one line ("" when it did not). */
  reason: z.string().max(4096),
});
export type VetoOutcome = z.infer<typeof VetoOutcome>;
