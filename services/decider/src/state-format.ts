// The decider state's persisted formats (KV `marina_state`, key `<cluster>.decider`) and the
// pure migrations between them; the rules are in formats.ts.
//
// 1: before formats were versioned (`version: 1`). Depending on the release that wrote it,
//    `writesRestored`, `rebuildFailures` and an operation's `agentCalls` may be missing.
// 2: those are always present, and `writtenBy` names the decider and the lease epoch that
//    wrote the record (null when it was migrated from format 1).
// 3: `paused` (automation paused by cmd.pause: {since, reason, by}, or null). A release that
//    reads format 2 does not know the pause and would act against it, so a paused state is
//    written in format 3 even while such a decider is alive (stateFormatNeeded, formats.ts):
//    it cannot read it and does not lead the cluster.
//
// A record is read by migrating it up to the current format (STATE_MIGRATIONS) and then
// checking its shape (state-schema.ts); it is written in the format the store is told to,
// down from the current one (STATE_DOWNGRADES), so that an older release can read it.
import { type DeciderState, STATE_FORMAT } from "@marina/decider-core";
import { OLDEST_FORMATS } from "./formats.js";
import { checkPersistedState, type StateWriter } from "./state-schema.js";

export type { StateWriter };

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

/** An operation written before agent calls existed has none. */
function withAgentCalls(op: unknown): unknown {
  return isRec(op) && op.agentCalls === undefined ? { ...op, agentCalls: [] } : op;
}

/** STATE_MIGRATIONS[n] turns a format-n record into format n+1. Pure. */
export const STATE_MIGRATIONS: Readonly<Record<number, (r: Rec) => Rec>> = {
  1: (r) => ({
    ...r,
    version: 2,
    writesRestored: r.writesRestored ?? {},
    rebuildFailures: r.rebuildFailures ?? {},
    operation: withAgentCalls(r.operation),
    writtenBy: null,
  }),
  2: (r) => ({ ...r, version: 3, paused: null }),
};

/** STATE_DOWNGRADES[n] turns a format-n record into format n-1, for older readers. Pure. */
export const STATE_DOWNGRADES: Readonly<Record<number, (r: Rec) => Rec>> = {
  2: ({ writtenBy: _writtenBy, ...r }) => ({ ...r, version: 1 }),
  // Written only when the state is not paused (or capped by --state-format: the pause is lost).
  3: ({ paused: _paused, ...r }) => ({ ...r, version: 2 }),
};

/** The oldest format that holds everything `state` says: 3 while paused (format 3 has the pause). */
export function stateFormatNeeded(state: DeciderState): number {
  return state.paused ? 3 : OLDEST_FORMATS.state;
}

/** The format a raw record says it is; undefined when it cannot say (not an object, a bad version). */
export function stateFormatOf(raw: unknown): number | undefined {
  if (!isRec(raw)) return undefined;
  const v = raw.version ?? 1;
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** A record of format `from` as format `to` (up or down, one step at a time). Pure. */
export function convertState(raw: Rec, from: number, to: number = STATE_FORMAT): Rec {
  let r = raw;
  for (let v = from; v < to; v++) r = step(STATE_MIGRATIONS, v, "migration")(r);
  for (let v = from; v > to; v--) r = step(STATE_DOWNGRADES, v, "downgrade")(r);
  return r;
}

function step(table: Readonly<Record<number, (r: Rec) => Rec>>, v: number, what: string) {
  const f = table[v];
  if (!f) throw new RangeError(`no state ${what} from format ${v}`);
  return f;
}

export type StateDecode =
  | { kind: "ok"; state: DeciderState; format: number; writtenBy: StateWriter | null }
  /** A format this decider does not read: leave the record alone. */
  | { kind: "unsupported"; format: number }
  | { kind: "invalid"; error: string };

/**
 * Reads a persisted record: of a format from the oldest up to `reads` (default: the current
 * one), migrated to the current format and checked; anything newer is `unsupported`.
 */
export function decodeState(raw: unknown, reads: number = STATE_FORMAT): StateDecode {
  if (!isRec(raw)) return { kind: "invalid", error: "(root): not an object" };
  const format = stateFormatOf(raw);
  if (format === undefined) return { kind: "invalid", error: "version: not a positive integer" };
  if (format > reads || format < OLDEST_FORMATS.state) return { kind: "unsupported", format };
  const checked = checkPersistedState(convertState(raw, format));
  if (!checked.ok) return { kind: "invalid", error: checked.error };
  const { writtenBy, ...state } = checked.state;
  return { kind: "ok", state: state as DeciderState, format, writtenBy };
}

/** The record of `state` in `format` (at most the current one), written by `writer`. */
export function encodeState(state: DeciderState, format: number, writer: StateWriter | null): Rec {
  return convertState({ ...state, version: STATE_FORMAT, writtenBy: writer }, STATE_FORMAT, format);
}
