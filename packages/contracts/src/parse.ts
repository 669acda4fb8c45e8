import type { z } from "zod";
import {
  CommandMessages,
  CommandPayloads,
  ERROR_MESSAGE_MAX,
  ERROR_PATH_MAX,
  type ErrorBody,
  isCommandEnvelope,
} from "./commands.js";
import { type ErrorCode, ErrorCodes, MarinaError } from "./errors.js";
import { type CommandVerb, CommandVerbs } from "./subjects.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An error body within ErrorBody's limits, whatever text went in (it may quote input). */
export function errorBody(code: ErrorCode, message: string, path?: string): ErrorBody {
  const retryable = ErrorCodes[code].retryable;
  const text = clip(message, ERROR_MESSAGE_MAX);
  return path === undefined
    ? { code, message: text, retryable }
    : { code, message: text, path: clip(path, ERROR_PATH_MAX), retryable };
}

export function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof MarinaError) return errorBody(err.code, err.message, err.path);
  return errorBody("INTERNAL", err instanceof Error ? err.message : String(err));
}

/** Dotted path of a zod issue: `payload.replication.0.gtidIoPos`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

function validationError(error: z.ZodError): ErrorBody {
  const issue = error.issues[0]!;
  // An unknown field is the bad field itself, not the object that holds it.
  const extra = issue.code === "unrecognized_keys" ? issue.keys.slice(0, 1) : [];
  const path = issuePath([...issue.path, ...extra]);
  const message = path === "" ? issue.message : `${path}: ${issue.message}`;
  return errorBody("VALIDATION_FAILED", message, path);
}

function decodeJson(data: Uint8Array | string): Parsed<unknown> {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: errorBody("BAD_JSON", `not JSON: ${(err as Error).message}`) };
  }
}

/** Validates an already decoded value. */
export function check<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.infer<S>> {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: validationError(r.error) };
}

/** Decodes JSON bytes and validates them with the schema. */
export function parseMessage<S extends z.ZodType>(
  schema: S,
  data: Uint8Array | string,
): Parsed<z.infer<S>> {
  const json = decodeJson(data);
  return json.ok ? check(schema, json.value) : json;
}

/** Throws MarinaError instead of returning a result; for outbound messages we build. */
export function mustParse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = check(schema, value);
  if (!r.ok) throw new MarinaError(r.error.code, r.error.message, { path: r.error.path });
  return r.value;
}

export function isCommandVerb(verb: string): verb is CommandVerb {
  return (CommandVerbs as readonly string[]).includes(verb);
}

function failed(code: ErrorCode, message: string, path?: string): Parsed<never> {
  return { ok: false, error: errorBody(code, message, path) };
}

/** A short, safe description of a value for an error message (never the value itself). */
function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  return typeof v === "string" ? JSON.stringify(v.slice(0, 80)) : typeof v;
}

/**
 * Parses a command as a person types it: the bare payload (`{"target":"db2"}`), an empty
 * body for commands without fields, or a full envelope (see isCommandEnvelope for which is
 * which). Errors name the field: `target`, or `time` and `payload.target` in an envelope.
 */
export function parseCommand<V extends CommandVerb>(
  verb: V,
  data: Uint8Array | string,
): Parsed<z.infer<(typeof CommandPayloads)[V]>>;
export function parseCommand(verb: string, data: Uint8Array | string): Parsed<unknown>;
export function parseCommand(verb: string, data: Uint8Array | string): Parsed<unknown> {
  const r = parseCommandWithOrigin(verb, data);
  return r.ok ? { ok: true, value: r.value.payload } : r;
}

/**
 * Who a command says it comes from: its envelope's `source` and `id` (both null for a bare
 * payload). Self-declared: recorded in the history, never trusted for anything.
 */
export interface CommandOrigin {
  readonly source: string | null;
  readonly messageId: string | null;
}

/** parseCommand, and the origin the command's envelope states. */
export function parseCommandWithOrigin<V extends CommandVerb>(
  verb: V,
  data: Uint8Array | string,
): Parsed<{ payload: z.infer<(typeof CommandPayloads)[V]>; origin: CommandOrigin }>;
export function parseCommandWithOrigin(
  verb: string,
  data: Uint8Array | string,
): Parsed<{ payload: unknown; origin: CommandOrigin }>;
export function parseCommandWithOrigin(
  verb: string,
  data: Uint8Array | string,
): Parsed<{ payload: unknown; origin: CommandOrigin }> {
  if (!isCommandVerb(verb)) {
    const known = CommandVerbs.join(", ");
    return failed("UNKNOWN_COMMAND", `unknown command ${describe(verb)}; known: ${known}`, "verb");
  }
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const json = text.trim() === "" ? ({ ok: true, value: {} } as const) : decodeJson(text);
  if (!json.ok) return json;
  const body = json.value;
  if (!isCommandEnvelope(body)) {
    const bare = check(CommandPayloads[verb], body);
    return bare.ok
      ? { ok: true, value: { payload: bare.value, origin: { source: null, messageId: null } } }
      : bare;
  }
  if (body.type !== `cmd.${verb}`) {
    const got = describe(body.type);
    return failed(
      "VALIDATION_FAILED",
      `type: expected "cmd.${verb}" for this subject, got ${got}`,
      "type",
    );
  }
  const r = check(
    CommandMessages[verb] as z.ZodType<{ payload: unknown; source: string; id: string }>,
    body,
  );
  if (!r.ok) return r;
  const origin = { source: r.value.source, messageId: r.value.id };
  return { ok: true, value: { payload: r.value.payload, origin } };
}
