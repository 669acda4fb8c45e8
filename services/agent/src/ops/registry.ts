import type { AgentActionName, AgentResult } from "@marina/contracts";
import { MarinaError } from "@marina/contracts";
import type { AgentPhase } from "../messages.js";

export type OpState = "running" | "succeeded" | "failed" | "cancelled";

/** One action the agent runs or ran; long actions outlive their request. */
export interface OpRecord {
  readonly opId: string;
  readonly action: AgentActionName;
  readonly server: string | null;
  readonly startedAt: number;
  readonly controller: AbortController;
  state: OpState;
  phase: AgentPhase;
  /** Set once the action ended; what was published on the done subject. */
  result: AgentResult | null;
  /** Data of the first reply (port, address), replayed to a retried request. */
  accepted: Record<string, unknown> | null;
  /** Resolves when the action ended, whatever the outcome. */
  ended: Promise<void>;
}

const KEEP_FINISHED = 100;

/** Running and recently finished operations; at most one running operation per server. */
export class OpRegistry {
  readonly #ops = new Map<string, OpRecord>();

  get(opId: string): OpRecord | undefined {
    return this.#ops.get(opId);
  }

  running(): OpRecord[] {
    return [...this.#ops.values()].filter((o) => o.state === "running");
  }

  busyWith(server: string): OpRecord | undefined {
    return this.running().find((o) => o.server === server);
  }

  /** Registers a new running operation; refuses when the server already has one. */
  begin(opId: string, action: AgentActionName, server: string | null, now: number): OpRecord {
    if (server !== null) {
      const busy = this.busyWith(server);
      if (busy) {
        throw new MarinaError(
          "OPERATION_IN_PROGRESS",
          `${server} is busy with ${busy.action} (opId ${busy.opId})`,
        );
      }
    }
    let finish: () => void = () => {};
    const ended = new Promise<void>((r) => {
      finish = r;
    });
    const rec: OpRecord = {
      opId,
      action,
      server,
      startedAt: now,
      controller: new AbortController(),
      state: "running",
      phase: "guard",
      result: null,
      accepted: null,
      ended,
    };
    endHooks.set(rec, finish);
    this.#ops.set(opId, rec);
    this.#prune();
    return rec;
  }

  /** Marks the operation ended with its final result. */
  end(rec: OpRecord, state: Exclude<OpState, "running">, result: AgentResult): void {
    rec.state = state;
    rec.result = result;
    endHooks.get(rec)?.();
    endHooks.delete(rec);
  }

  /** Forgets a record that never really started (refused before any effect). */
  drop(rec: OpRecord): void {
    if (this.#ops.get(rec.opId) === rec) this.#ops.delete(rec.opId);
    endHooks.get(rec)?.();
    endHooks.delete(rec);
  }

  recent(limit = 20): OpRecord[] {
    return [...this.#ops.values()].slice(-limit);
  }

  #prune(): void {
    const finished = [...this.#ops.values()].filter((o) => o.state !== "running");
    for (const o of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.#ops.delete(o.opId);
    }
  }
}

const endHooks = new WeakMap<OpRecord, () => void>();
