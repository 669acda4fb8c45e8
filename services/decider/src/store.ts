// Persists the decider-core state per cluster in KV `marina_state` (key `<cluster>.decider`),
// so a new leader resumes the operation the old one started.
import type { DeciderState } from "@marina/decider-core";
import { isCasConflict, type KvBucket } from "./kv.js";
import { checkPersistedState } from "./state-schema.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Fields that are knowledge (samples) rather than decisions: the live decider's own win. */
const KNOWLEDGE = ["samples", "lastObservation", "lastLag", "heartbeats"] as const;

export class StateStore {
  private lastWritten = "";
  /** KV revision of our last read or write; 0 = the key did not exist. */
  private revision = 0;
  /** What the last write attempt sent, kept until it is known to have landed. */
  private unconfirmed: Uint8Array | undefined;
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
    const decisions = JSON.stringify({
      ...state,
      ...Object.fromEntries(KNOWLEDGE.map((k) => [k, null])),
    });
    if (decisions === this.lastWritten) return false;
    // Compare-and-set: a leader that lost the lease while paused cannot overwrite the state
    // its successor wrote (the write fails and the runner withholds its actions).
    const data = enc.encode(JSON.stringify(state));
    try {
      this.revision = await this.write(data, this.revision);
    } catch (err) {
      // A write that timed out may have landed: the key then holds exactly what it sent, at
      // a revision we never learnt, and every later compare-and-set would be refused.
      const landed = isCasConflict(err) ? await this.revisionHolding(this.unconfirmed) : undefined;
      if (landed === undefined) {
        this.unconfirmed = data;
        throw err;
      }
      this.revision = await this.write(data, landed);
    }
    this.unconfirmed = undefined;
    this.lastWritten = decisions;
    return true;
  }

  private write(data: Uint8Array, revision: number): Promise<number> {
    return revision === 0
      ? this.kv.create(this.key, data)
      : this.kv.update(this.key, data, revision);
  }

  /** The key's revision if it holds `data` byte for byte. */
  private async revisionHolding(data: Uint8Array | undefined): Promise<number | undefined> {
    if (!data) return undefined;
    const e = await this.kv.get(this.key);
    if (e?.operation !== "PUT" || e.value.length !== data.length) return undefined;
    return e.value.every((b, i) => b === data[i]) ? e.revision : undefined;
  }

  forget(): void {
    this.lastWritten = "";
  }
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
