// Persists the decider-core state per cluster in KV `marina_state` (key `<cluster>.decider`),
// so a new leader resumes the operation the old one started.
import type { DeciderState } from "@marina/decider-core";
import { isCasConflict, type KvBucket } from "./kv.js";
import { checkPersistedState } from "./state-schema.js";

const enc = new TextEncoder();
/** How many unanswered writes are remembered (each may still land). */
const MAX_UNCONFIRMED = 16;
const dec = new TextDecoder();

/** Fields that are knowledge (samples) rather than decisions: the live decider's own win. */
const KNOWLEDGE = ["samples", "lastObservation", "lastLag", "heartbeats"] as const;

export class StateStore {
  private lastWritten = "";
  /** KV revision of our last read or write; 0 = the key did not exist. */
  private revision = 0;
  /** Writes reported failed without an answer (they may have landed), oldest first. */
  private unconfirmed: Uint8Array[] = [];
  constructor(
    private readonly kv: KvBucket,
    private readonly cluster: string,
  ) {}

  private get key() {
    return `${this.cluster}.decider`;
  }

  async load(): Promise<DeciderState | undefined> {
    const e = await this.kv.get(this.key);
    this.revision = e?.revision ?? 0;
    if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
    const checked = checkPersistedState(JSON.parse(dec.decode(e.value)));
    if (!checked.ok) {
      throw new Error(
        `the persisted state of ${this.cluster} is not a decider state: ${checked.error}`,
      );
    }
    return checked.state.cluster === this.cluster ? checked.state : undefined;
  }

  /** Writes when the decisions changed; samples alone do not cause a write. */
  async save(state: DeciderState): Promise<boolean> {
    const decisions = decisionsOf(state);
    if (decisions === this.lastWritten) return false;
    // Compare-and-set: a leader that lost the lease while paused cannot overwrite the state
    // its successor wrote (the write fails and the runner withholds its actions).
    const data = enc.encode(JSON.stringify(state));
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
    ...Object.fromEntries(KNOWLEDGE.map((k) => [k, null])),
    readOnly,
  });
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
