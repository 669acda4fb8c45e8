import type { z } from "zod";
import type { ErrorBody } from "./commands.js";
import { CommandPayloads } from "./commands.js";
import { type ErrorCode, ErrorCodes, MarinaError } from "./errors.js";
import { type CommandVerb, CommandVerbs } from "./subjects.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

export function errorBody(code: ErrorCode, message: string, path?: string): ErrorBody {
  return path === undefined
    ? { code, message, retryable: ErrorCodes[code].retryable }
    : { code, message, path, retryable: ErrorCodes[code].retryable };
}

export function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof MarinaError) return errorBody(err.code, err.message, err.path);
  return errorBody("INTERNAL", err instanceof Error ? err.message : String(err));
}

/** Dotted path of a zod issue: `payload.replication.0.gtidIoPos`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

function validationError(error: z.ZodError, prefix: string[] = []): ErrorBody {
  const issue = error.issues[0]!;
  const path = issuePath([...prefix, ...issue.path]);
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

function isEnvelopeShaped(v: unknown): v is { type: unknown; payload: unknown } {
  return typeof v === "object" && v !== null && "payload" in v && "type" in v;
}

/**
 * Parses a command as a person types it: the bare payload (`{"target":"db2"}`), an empty
 * body for commands without fields, or a full envelope. Errors name the field.
 */
export function parseCommand<V extends CommandVerb>(
  verb: V,
  data: Uint8Array | string,
): Parsed<z.infer<(typeof CommandPayloads)[V]>>;
export function parseCommand(verb: string, data: Uint8Array | string): Parsed<unknown>;
export function parseCommand(verb: string, data: Uint8Array | string): Parsed<unknown> {
  if (!isCommandVerb(verb)) {
    return {
      ok: false,
      error: errorBody(
        "UNKNOWN_COMMAND",
        `unknown command "${verb}"; known: ${CommandVerbs.join(", ")}`,
        "verb",
      ),
    };
  }
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const json = text.trim() === "" ? ({ ok: true, value: {} } as const) : decodeJson(text);
  if (!json.ok) return json;
  const schema = CommandPayloads[verb];
  let payload = json.value;
  let prefix: string[] = [];
  if (isEnvelopeShaped(payload)) {
    if (payload.type !== `cmd.${verb}`) {
      return {
        ok: false,
        error: errorBody(
          "VALIDATION_FAILED",
          `type: expected "cmd.${verb}" for this subject, got ${JSON.stringify(payload.type)}`,
          "type",
        ),
      };
    }
    payload = payload.payload;
    prefix = ["payload"];
  }
  const r = schema.safeParse(payload);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, error: validationError(r.error, prefix) };
}
