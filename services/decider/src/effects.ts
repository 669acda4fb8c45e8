// Carries out the core's actions: publishes topology, situations and operation events,
// answers commands, sends steps to executors and calls to host agents, and feeds their
// results back as inputs. Every outbound message is checked against its schema here. Host
// work always goes to an agent over NATS (one serving servers over SSH included).
import { createHash } from "node:crypto";
import {
  type ClusterConfig,
  ClusterEventMessage,
  envelope,
  HistoryMessage,
  mustParse,
  OperationMessage,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import type { Action, Input } from "@marina/decider-core";
import { sleep } from "@marina/runtime";
import type { Logger } from "pino";
import { runAgentRequest } from "./agent-client.js";
import type { Bus } from "./bus.js";
import { runStep } from "./exec-client.js";
import type { DeciderMetrics } from "./metrics.js";
import type { PendingReplies } from "./replies.js";

export interface EffectsDeps {
  readonly bus: Bus;
  readonly config: ClusterConfig;
  /** Envelope source of what this decider publishes. */
  readonly source: string;
  readonly log: Logger;
  readonly replies: PendingReplies;
  /** Where results of steps and agent calls go: the input queue. */
  feed(input: Input): void;
  /** Whether this decider still leads in `epoch` (checked again before each send). */
  isLeaderOf(epoch: number): boolean;
  /** Counts finished operations and situation events. */
  readonly metrics?: DeciderMetrics;
}

type Kind<K extends Action["kind"]> = Extract<Action, { kind: K }>;

/** Tries to store a history record: about 7.5 s in all before it is given up (and logged). */
const HISTORY_ATTEMPTS = 5;
/** How many recent record ids are remembered as counted in the metrics. */
const COUNTED_IDS = 1_000;

export class Effects {
  /** Records whose operation was counted in the metrics (oldest first). */
  private readonly counted = new Set<string>();
  /** Per record id: the newest version queued, and the chain of its stores. */
  private readonly historyVersion = new Map<string, number>();
  private readonly historyChain = new Map<string, Promise<void>>();
  constructor(private readonly d: EffectsDeps) {}

  /**
   * Carries out what one decision asked for; with `repliesOnly` (the decision was not
   * persisted, or the epoch ended meanwhile) only the replies.
   */
  perform(actions: readonly Action[], epoch: number, repliesOnly: boolean): void {
    // Replies first: a client hears "accepted, opId" before anything about the operation, so
    // whoever acts on the operation's first event already has the answer.
    for (const a of actions) if (a.kind === "reply") this.execute(a, epoch);
    if (repliesOnly) return;
    for (const a of actions) if (a.kind !== "reply") this.execute(a, epoch);
  }

  private execute(a: Action, epoch: number): void {
    switch (a.kind) {
      case "event":
        this.publishEvent(a);
        return;
      case "topology":
        this.publishTopology(a);
        return;
      case "operation":
        this.publishOperation(a);
        return;
      case "reply":
        this.d.replies.answer(a.requestId, a.reply);
        return;
      case "step":
        this.sendStep(a, epoch);
        return;
      case "agent":
        this.callAgent(a, epoch);
        return;
      case "history":
        // A record stored again (with a post hook's result) is the same operation: counted once.
        if (!this.counted.has(a.record.id)) {
          this.counted.add(a.record.id);
          if (this.counted.size > COUNTED_IDS) {
            this.counted.delete(this.counted.values().next().value as string);
          }
          this.d.metrics?.operationEnded(a.record);
        }
        this.queueHistory(a);
        return;
      default: {
        const never: never = a;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  private publish(subject: string, data: unknown): void {
    this.d.bus.publish(subject, JSON.stringify(data));
  }

  private publishEvent(a: Kind<"event">): void {
    const { situation, server } = a.event;
    this.d.log.info({ situation, server, reason: a.reason }, "situation");
    this.d.metrics?.situation(a.event);
    this.publish(
      subjects.events(this.d.config.name),
      mustParse(ClusterEventMessage, envelope("event", this.d.source, a.event)),
    );
  }

  private publishTopology(a: Kind<"topology">): void {
    const { primary, generation } = a.topology;
    this.d.log.info({ primary, generation, reason: a.reason }, "topology");
    this.publish(
      subjects.topology(this.d.config.name),
      mustParse(TopologyMessage, envelope("topology", this.d.source, a.topology)),
    );
  }

  private publishOperation(a: Kind<"operation">): void {
    const { opId, kind, state, phase } = a.event;
    this.d.log.info({ opId, kind, state, phase }, a.event.message);
    this.publish(
      subjects.op(this.d.config.name, opId),
      mustParse(OperationMessage, envelope("operation", this.d.source, a.event)),
    );
  }

  /**
   * An operation's record goes into MARINA_HISTORY with the stream's acknowledgement, tried
   * again a few times (the message id is the record id and a digest of its content: stored
   * once however often sent, and stored again when it changes — a post hook's result added
   * to it). A record that cannot be stored is logged with its content, not lost silently.
   */
  /**
   * Stores of one record run one after another, and a newer version of it stops the retries
   * of an older one: an older store retried after a newer one landed would replace it (the
   * stream keeps one message per subject).
   */
  private queueHistory(a: Kind<"history">): void {
    const id = a.record.id;
    const version = (this.historyVersion.get(id) ?? 0) + 1;
    this.historyVersion.set(id, version);
    const current = () => this.historyVersion.get(id) === version;
    const prev = this.historyChain.get(id) ?? Promise.resolve();
    const next = prev.then(() => this.storeHistory(a, current));
    this.historyChain.set(id, next);
    void next.then(() => {
      if (this.historyChain.get(id) === next) {
        this.historyChain.delete(id);
        this.historyVersion.delete(id);
      }
    });
  }

  private async storeHistory(a: Kind<"history">, current: () => boolean): Promise<void> {
    const { record } = a;
    const subject = subjects.history(this.d.config.name, record.id);
    const data = JSON.stringify(
      mustParse(HistoryMessage, envelope("history", this.d.source, record)),
    );
    const about = { opId: record.id, kind: record.kind, outcome: record.outcome };
    const digest = createHash("sha256").update(JSON.stringify(record)).digest("hex").slice(0, 16);
    for (let attempt = 1; ; attempt++) {
      if (!current()) {
        this.d.log.info(about, "history record superseded by a newer version before it was stored");
        return;
      }
      try {
        await this.d.bus.store(subject, data, `${record.cluster}.${record.id}.${digest}`);
        this.d.log.info({ ...about, reason: a.reason }, "history record stored");
        return;
      } catch (err) {
        if (attempt >= HISTORY_ATTEMPTS) {
          this.d.log.error({ ...about, err, record }, "history record could not be stored");
          return;
        }
        await sleep(250 * 2 ** attempt);
      }
    }
  }

  private sendStep(a: Kind<"step">, epoch: number): void {
    const { log, source } = this.d;
    const req = a.request;
    const about = { opId: req.opId, stepId: req.stepId, server: req.server };
    log.debug({ ...about, step: req.step.kind, reason: a.reason }, "step");
    const mayAct = () => this.d.isLeaderOf(epoch);
    void runStep(this.d.bus, req, { timeoutMs: a.timeoutMs, source, mayAct, log }).then(
      (result) => {
        if (!result.ok) log.warn({ ...about, error: result.error }, "step failed");
        this.d.feed({ kind: "step-result", opId: req.opId, stepId: req.stepId, result });
      },
    );
  }

  private callAgent(a: Kind<"agent">, epoch: number): void {
    const { log, source } = this.d;
    const req = a.request;
    const about = { opId: a.opId, host: req.host, action: req.request.action };
    log.info({ ...about, reason: a.reason }, "agent request");
    const mayAct = () => this.d.isLeaderOf(epoch);
    void runAgentRequest(this.d.bus, req, { timeoutMs: a.timeoutMs, source, mayAct }).then(
      (result) => {
        if (!result.ok) log.warn({ ...about, error: result.error }, "agent request failed");
        this.d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via: "reply", result });
      },
    );
  }
}
