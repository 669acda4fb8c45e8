import { z } from "zod";
import { Iso } from "./names.js";

export const ENVELOPE_VERSION = 1;

/** Every message is this envelope around a payload; `type` says which payload. */
export function envelopeOf<T extends string, P extends z.ZodType>(type: T, payload: P) {
  return z.strictObject({
    type: z.literal(type),
    version: z.literal(ENVELOPE_VERSION),
    id: z.string().min(1).max(128),
    time: Iso,
    source: z.string().min(1).max(200),
    payload,
  });
}

export interface Envelope<T extends string, P> {
  type: T;
  version: typeof ENVELOPE_VERSION;
  id: string;
  time: string;
  source: string;
  payload: P;
}

let counter = 0;
/** A unique-enough message id: time, process-local counter and randomness. */
export function newId(now: number = Date.now()): string {
  counter = (counter + 1) % 1_000_000;
  const rand = Math.floor(Math.random() * 0xffffff)
    .toString(36)
    .padStart(5, "0");
  return `${now.toString(36)}-${counter.toString(36)}-${rand}`;
}

export function envelope<T extends string, P>(
  type: T,
  source: string,
  payload: P,
  opts: { id?: string; time?: Date } = {},
): Envelope<T, P> {
  return {
    type,
    version: ENVELOPE_VERSION,
    id: opts.id ?? newId(),
    time: (opts.time ?? new Date()).toISOString(),
    source,
    payload,
  };
}
