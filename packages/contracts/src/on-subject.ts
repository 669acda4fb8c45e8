import type { z } from "zod";
import { errorBody, type Parsed, parseMessage } from "./parse.js";
import { ROOT } from "./subjects.js";

/** The schema of an envelope around payload P (every message schema is one). */
export type MessageSchema<P> = z.ZodType<{ payload: P }>;

/** The payload fields that must repeat a token of the subject a message came on. */
function subjectFields(subject: string): Array<[field: string, token: string | undefined]> {
  const t = subject.split(".");
  if (`${t[0]}.${t[1]}` !== ROOT) return [];
  // marina.v1.agent.<host>.<kind>
  if (t[2] === "agent") return [["host", t[3]]];
  // marina.v1.<cluster>.<kind>[.<server or opId>]
  const fields: Array<[string, string | undefined]> = [["cluster", t[2]]];
  if (t[3] === "health") fields.push(["server", t[4]]);
  if (t[3] === "op") fields.push(["opId", t[4]]);
  if (t[3] === "history") fields.push(["id", t[4]]);
  return fields;
}

/**
 * Parses a message Marina published: valid for its schema, and naming the cluster, server,
 * host or operation of the subject it came on (a sample of db2 on db1's subject is refused).
 * A forged message that passes both is still accepted: only NATS permissions stop that.
 */
export function parseOnSubject<S extends z.ZodType<{ payload: unknown }>>(
  schema: S,
  subject: string,
  data: Uint8Array | string,
): Parsed<z.infer<S>> {
  const r = parseMessage(schema, data);
  if (!r.ok) return r;
  const payload = r.value.payload as Record<string, unknown>;
  for (const [field, token] of subjectFields(subject)) {
    const value = payload[field];
    if (Object.hasOwn(payload, field) && value !== token) {
      const path = `payload.${field}`;
      const message = `${path}: ${JSON.stringify(value)} is not the subject's "${token}"`;
      return { ok: false, error: errorBody("VALIDATION_FAILED", message, path) };
    }
  }
  return r;
}
