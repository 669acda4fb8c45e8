// Persists the decider-core state per cluster in KV `marina_state` (key `<cluster>.decider`),
// so a new leader resumes the operation the old one started. Records are read in any format
// this decider knows and written in the one it is told to (state-format.ts, formats.ts); a
// record of a format it cannot read is never written over.
import { type DeciderState, STATE_FORMAT } from "@marina/decider-core";
import { OLDEST_FORMATS, UnsupportedFormatError } from "./formats.js";
import { isCasConflict, type KvBucket } from "./kv.js";
import { decodeState, encodeState, type StateWriter, stateFormatNeeded } from "./state-format.js";

const enc = new TextEncoder();
/** How many unanswered writes are remembered (each may still land). */
const MAX_UNCONFIRMED = 16;
const dec = new TextDecoder();

/** Fields that are knowledge (samples) rather than decisions: the live decider's own win. */
const KNOWLEDGE = [
  "samples",
  "lastObservation",
  "lastLag",
  "heartbeats",
  "delays",
  "errantSeen",
] as const;

/**
 * Persisted, but not decisions: a change to them alone is written at most every
 * SOFT_EVERY_MS, best-effort — a failed write of them withholds no action (the write-ahead
 * record is for decisions). Every decision write carries their current value.
 */
const SOFT = ["lastKnown"] as const;
const SOFT_EVERY_MS = 5_000;

export interface StateStoreOptions {
  /** The newest state format this decider reads (default: the current one). */
  readonly reads?: number;
  /**
   * The format to write now, given the oldest one the state needs (default `reads`; never
   * above it); see stateWriteFormat.
   */
  readonly writeFormat?: (needs: number) => number;
  /** Who writes (recorded from format 2 on). */
  readonly writer?: () => StateWriter;
}

export class StateStore {
  private lastWritten = "";
  /** The soft fields as last written, and when (performance.now()). */
  private lastSoft = "";
  private lastSoftAt = Number.NEGATIVE_INFINITY;
  /** KV revision of our last read or write; 0 = the key did not exist. */
  private revision = 0;
  /** Writes reported failed without an answer (they may have landed), oldest first. */
  private unconfirmed: Uint8Array[] = [];
  /** Set by a load that found a format this decider cannot read: nothing is written. */
  private refusal: UnsupportedFormatError | undefined;
  private readonly reads: number;
  constructor(
    private readonly kv: KvBucket,
    private readonly cluster: string,
    private readonly o: StateStoreOptions = {},
  ) {
    this.reads = o.reads ?? STATE_FORMAT;
  }

  private get key() {
    return `${this.cluster}.decider`;
  }

  /**
   * The persisted state, migrated to the current format. Throws UnsupportedFormatError for a
   * format this decider cannot read (and writes nothing until a load succeeds), and an Error
   * naming the field for a value that is not a decider state.
   */
  async load(): Promise<DeciderState | undefined> {
    const e = await this.kv.get(this.key);
    this.revision = e?.revision ?? 0;
    this.refusal = undefined;
    if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
    const decoded = decodeState(JSON.parse(dec.decode(e.value)), this.reads);
    switch (decoded.kind) {
      case "unsupported":
        this.refusal = new UnsupportedFormatError(
          `decider state of ${this.cluster}`,
          decoded.format,
          { oldest: OLDEST_FORMATS.state, newest: this.reads },
        );
        throw this.refusal;
      case "invalid":
        throw new Error(
          `the persisted state of ${this.cluster} is not a decider state: ${decoded.error}`,
        );
      case "ok":
        return decoded.state.cluster === this.cluster ? decoded.state : undefined;
      default: {
        const never: never = decoded;
        return never;
      }
    }
  }

  /**
   * Writes when the decisions changed, or the format to write did; samples alone do not
   * cause a write.
   */
  async save(state: DeciderState): Promise<boolean> {
    const format = Math.min(
      this.o.writeFormat?.(stateFormatNeeded(state)) ?? this.reads,
      this.reads,
    );
    const decisions = `${format}:${decisionsOf(state)}`;
    const soft = softOf(state);
    if (decisions === this.lastWritten) {
      if (soft === this.lastSoft || performance.now() - this.lastSoftAt < SOFT_EVERY_MS) {
        return false;
      }
      // Best-effort: a failure is forgotten (tried again in SOFT_EVERY_MS), never thrown.
      this.lastSoftAt = performance.now();
      try {
        return await this.write(state, format, decisions, soft);
      } catch {
        return false;
      }
    }
    if (this.refusal) throw this.refusal;
    return this.write(state, format, decisions, soft);
  }

  private async write(
    state: DeciderState,
    format: number,
    decisions: string,
    soft: string,
  ): Promise<boolean> {
    if (this.refusal) throw this.refusal;
    // Compare-and-set: a leader that lost the lease while paused cannot overwrite the state
    // its successor wrote (the write fails and the runner withholds its actions).
    const record = encodeState(state, format, this.o.writer?.() ?? null);
    const data = enc.encode(JSON.stringify(record));
    try {
      this.revision =
        this.revision === 0
          ? await this.kv.create(this.key, data)
          : await this.kv.update(this.key, data, this.revision);
    } catch (err) {
      // A timeout says nothing about the write: it may land later. Keep what it sent.
      if (!isCasConflict(err)) {
        this.unconfirmed.push(data);
        if (this.unconfirmed.length > MAX_UNCONFIRMED) this.unconfirmed.shift();
      }
      throw err;
    }
    this.unconfirmed = [];
    this.lastWritten = decisions;
    this.lastSoft = soft;
    this.lastSoftAt = performance.now();
    return true;
  }

  /**
   * After a refused write: when the key holds, byte for byte, one of our writes that were
   * reported failed (a timeout, and it landed after all), takes its revision as ours and
   * says true. Anything else — a successor's write — stays refused.
   */
  async adoptOwnWrite(): Promise<boolean> {
    if (this.unconfirmed.length === 0) return false;
    const e = await this.kv.get(this.key);
    if (e?.operation !== "PUT") return false;
    const ours = this.unconfirmed.some(
      (d) => d.length === e.value.length && d.every((b, i) => b === e.value[i]),
    );
    if (!ours) return false;
    this.revision = e.revision;
    this.unconfirmed = [];
    return true;
  }

  forget(): void {
    this.lastWritten = "";
  }
}

/**
 * The part of the state worth a write: the knowledge fields nulled, and the time of a
 * read_only learnt from a sample (it moves with every sample; only a pending read_only=0
 * of our own is judged by its time).
 */
function decisionsOf(state: DeciderState): string {
  const readOnly = Object.fromEntries(
    Object.entries(state.readOnly).map(([s, r]) => [s, r.by === "sample" ? { ...r, at: 0 } : r]),
  );
  return JSON.stringify({
    ...state,
    ...Object.fromEntries([...KNOWLEDGE, ...SOFT].map((k) => [k, null])),
    readOnly,
  });
}

function softOf(state: DeciderState): string {
  return JSON.stringify(SOFT.map((k) => state[k] ?? null));
}

/** A new leader keeps its own fresh knowledge and takes the decisions from the store. */
export function mergeOnTakeover(
  local: DeciderState,
  persisted: DeciderState | undefined,
): DeciderState {
  if (!persisted) return local;
  const merged = { ...persisted } as DeciderState;
  for (const k of KNOWLEDGE) (merged as unknown as Record<string, unknown>)[k] = local[k];
  return merged;
}
