// Persists the decider-core state per cluster in KV `marina_state` (key `<cluster>.decider`),
// so a new leader resumes the operation the old one started.
import type { DeciderState } from "@marina/decider-core";
import type { KvBucket } from "./kv.js";
import { checkPersistedState } from "./state-schema.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Fields that are knowledge (samples) rather than decisions: the live decider's own win. */
const KNOWLEDGE = ["samples", "lastObservation", "lastLag", "heartbeats"] as const;

export class StateStore {
  private lastWritten = "";
  /** KV revision of our last read or write; 0 = the key did not exist. */
  private revision = 0;
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
    this.revision =
      this.revision === 0
        ? await this.kv.create(this.key, data)
        : await this.kv.update(this.key, data, this.revision);
    this.lastWritten = decisions;
    return true;
  }

  /**
   * Takes the key's current revision as ours. Only for a leader that holds the lease now:
   * then no other decider writes here, and a refused write means one of our own that was
   * reported failed (a timeout) landed after all.
   */
  async resync(): Promise<void> {
    const e = await this.kv.get(this.key);
    this.revision = e?.revision ?? 0;
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
