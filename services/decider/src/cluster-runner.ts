// The loop around decide() for one cluster: one queue of inputs handled one at a time,
// the decisions persisted before they are acted on (so a new leader can resume), and the
// leadership transitions. What comes in is in inbound.ts and commands.ts, what goes out in
// effects.ts.
import type { ClusterConfig, CommandVerb } from "@marina/contracts";
import {
  type DecideResult,
  type DeciderOptions as DeciderCoreOptions,
  type DeciderState,
  decide,
  type Input,
  initialState,
  summarizeAction,
} from "@marina/decider-core";
import type { Logger } from "pino";
import type { Bus, BusSubscription } from "./bus.js";
import { CommandIntake, type CommandIntakeDeps } from "./commands.js";
import { Effects } from "./effects.js";
import { UnsupportedFormatError } from "./formats.js";
import { subscribeInbound } from "./inbound.js";
import { isCasConflict } from "./kv.js";
import type { DeciderMetrics } from "./metrics.js";
import { PendingReplies } from "./replies.js";
import { mergeOnTakeover, type StateStore } from "./store.js";

/** What the loop reads of the lease (see Lease). */
export interface LeaderView {
  /** True only while the lease is held and fresh. */
  readonly leader: boolean;
  readonly epoch: number;
}

/** Where decisions are persisted (see StateStore). */
export type DecisionStore = Pick<StateStore, "load" | "save" | "forget" | "adoptOwnWrite">;

export interface RunnerDeps {
  bus: Bus;
  config: ClusterConfig;
  lease: LeaderView;
  store: DecisionStore;
  id: string;
  log: Logger;
  /** Wall-clock milliseconds. */
  now: () => number;
  tickMs: number;
  /** Tunables of the core (timeouts, retries); defaults suit production. */
  coreOptions?: Partial<DeciderCoreOptions>;
  /** Receives every input with its context and the resulting actions (JSONL recording). */
  record?: (line: RecordedInput) => void;
  /** Counts operations, situation events and commands answered. */
  metrics?: DeciderMetrics;
  /** Runs the commands taken on this cluster's subject that no core runs (provision/, backup/). */
  beside?: CommandIntakeDeps["beside"];
}

/** One line of a recorded decider stream, replayable through decide(). */
export interface RecordedInput {
  type: "input";
  at: number;
  leader: boolean;
  epoch: number;
  input: Input;
  /** Operation ids decide() asked for while handling this input. */
  opIds: string[];
  actions: string[];
}

/** One decision with the leadership it was taken under. */
interface Decision {
  result: DecideResult;
  leader: boolean;
  epoch: number;
}

export class ClusterRunner {
  state: DeciderState;
  private readonly queue: Input[] = [];
  private running = false;
  private readonly subs: BusSubscription[] = [];
  private tick: NodeJS.Timeout | undefined;
  private opCounter = 0;
  private closed = false;
  private idle: Array<() => void> = [];
  /** Leadership counts only once the persisted state was loaded and merged. */
  private takenOver = false;
  /** Set while the persisted state is of a format this decider cannot read: it does not lead. */
  private refusal: UnsupportedFormatError | undefined;
  private readonly commands: CommandIntake;
  private readonly effects: Effects;

  constructor(private readonly d: RunnerDeps) {
    this.state = initialState(d.config.name);
    const cluster = d.config.name;
    const replies = new PendingReplies(d.id, (verb, outcome) =>
      d.metrics?.command(cluster, verb, outcome),
    );
    const push = (input: Input) => this.push(input);
    this.commands = new CommandIntake({
      bus: d.bus,
      cluster: d.config.name,
      replies,
      acting: () => this.acting(),
      push,
      ...(d.beside ? { beside: d.beside } : {}),
    });
    this.effects = new Effects({
      bus: d.bus,
      config: d.config,
      source: d.id,
      log: d.log,
      replies,
      feed: push,
      isLeaderOf: (epoch) => this.isLeaderOf(epoch),
      ...(d.metrics ? { metrics: d.metrics } : {}),
    });
  }

  start(): void {
    const { bus, log, config } = this.d;
    this.subs.push(
      ...subscribeInbound({
        bus,
        log,
        config,
        acting: () => this.acting(),
        state: () => this.state,
        push: (input) => this.push(input),
      }),
    );
    this.commands.start();
    this.tick = setInterval(() => {
      if (this.queue.length === 0) this.push({ kind: "tick" });
    }, this.d.tickMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.tick) clearInterval(this.tick);
    for (const s of this.subs) s.unsubscribe();
    this.commands.close();
    await this.whenIdle();
  }

  /** A command from inside this process (the HTTP API): see CommandIntake.submit. */
  submit(verb: CommandVerb, data: string, timeoutMs: number): Promise<Uint8Array> {
    return this.commands.submit(verb, data, timeoutMs);
  }

  /** True while this decider leads the cluster and has taken its state over. */
  get actingLeader(): boolean {
    return this.acting();
  }

  /** Called by the lease when leadership changes. */
  async onLeadership(leader: boolean, epoch: number): Promise<void> {
    this.d.log.info({ leader, epoch }, leader ? "became leader" : "not leader");
    this.takenOver = false;
    if (leader) {
      let persisted: DeciderState | undefined;
      try {
        persisted = await this.d.store.load();
      } catch (err) {
        if (err instanceof UnsupportedFormatError) {
          // Never overwritten: the lease is given up at its next round (mayLead).
          this.refuse(err, epoch);
          return;
        }
        this.d.log.error({ err }, "could not load decider state; starting from knowledge");
      }
      // Closed while the state loaded (a shutdown racing a takeover): its connection may be
      // closed too, and nothing may be taken on any more.
      if (this.closed) return;
      this.state = mergeOnTakeover(this.state, persisted);
      this.d.store.forget();
      try {
        this.commands.lead();
      } catch (err) {
        // The connection closed under us: the lease lapses and another decider leads.
        this.d.log.error({ err }, "could not take forwarded commands");
        return;
      }
      this.takenOver = true;
      this.push({ kind: "resume" });
    } else {
      // Transfers run in the agents, not here: a new leader picks them up where they are.
      this.commands.follow();
    }
  }

  /** True while the persisted state is of a format this decider cannot read. */
  /** Whether the cluster's automation is paused (the state this decider holds). */
  get paused(): boolean {
    return this.state.paused != null;
  }

  get refusesState(): boolean {
    return this.refusal !== undefined;
  }

  /**
   * Whether this decider may lead the cluster: not while its persisted state is of a format
   * it cannot read. Once refused, the state is read again at every call (every lease round)
   * until it can be read — a newer decider wrote it in an older format, or it was removed.
   */
  async mayLead(): Promise<boolean> {
    if (!this.refusal) return true;
    try {
      await this.d.store.load();
    } catch {
      return false; // still unreadable, or KV did not answer: keep out
    }
    this.refusal = undefined;
    this.d.log.info("the persisted state is of a format this decider reads again; competing");
    // Not yet: a lease held through the refusal never took the cluster over (onLeadership
    // returned early), and renewing it would lead without acting for ever. Given up once,
    // it is acquired again next round, and the takeover then reads the state.
    return false;
  }

  private refuse(err: UnsupportedFormatError, epoch: number): void {
    const first = this.refusal === undefined;
    this.refusal = err;
    if (!first) return;
    this.d.log.error(
      { code: err.code, format: err.format, reads: err.reads, epoch },
      "the persisted state is of a format this decider cannot read: not leading the cluster, state left as it is (upgrade this decider)",
    );
  }

  /**
   * Nothing a handover could disturb: no operation running and the primary (if known) not
   * seen down — a failover may be about to start.
   */
  quiet(): boolean {
    const { operation, primary, downSince } = this.state;
    return operation === null && (primary === null || downSince[primary] === undefined);
  }

  push(input: Input): void {
    if (this.closed) return;
    this.queue.push(input);
    if (!this.running) void this.run();
  }

  whenIdle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let input = this.queue.shift(); input; input = this.queue.shift()) {
        await this.process(input);
      }
    } finally {
      this.running = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  private async process(input: Input): Promise<void> {
    const decision = this.decideOne(input);
    if (!decision) return;
    const { result, leader, epoch } = decision;
    if (leader && !(await this.persist(result.state))) {
      // Without the write-ahead record a successor could not resume: act on nothing.
      this.effects.perform(result.actions, epoch, true);
      return;
    }
    // A leader paused between deciding and here must not publish in its old epoch's name.
    const stillLeader = !leader || this.isLeaderOf(epoch);
    this.effects.perform(result.actions, epoch, !stillLeader);
  }

  /** decide() on one input, the state kept and the decision recorded. */
  private decideOne(input: Input): Decision | undefined {
    const leader = this.acting();
    const epoch = this.d.lease.epoch;
    const now = this.d.now();
    const opIds: string[] = [];
    let result: DecideResult;
    try {
      result = decide(this.state, input, {
        now,
        config: this.d.config,
        epoch,
        leader,
        newOpId: () => {
          const id = this.newOpId();
          opIds.push(id);
          return id;
        },
        source: this.d.id,
        ...(this.d.coreOptions ? { options: this.d.coreOptions } : {}),
      });
    } catch (err) {
      this.d.log.error({ err, input: input.kind }, "decide failed; input dropped");
      return undefined;
    }
    this.state = result.state;
    const actions = result.actions.map(summarizeAction);
    this.d.record?.({ type: "input", at: now, leader, epoch, input, opIds, actions });
    return { result, leader, epoch };
  }

  /** The write-ahead record of a leader's decision; false when it could not be written. */
  private async persist(state: DeciderState): Promise<boolean> {
    try {
      await this.d.store.save(state);
      return true;
    } catch (err) {
      if (isCasConflict(err) && this.d.lease.leader) {
        // Refused: if the key holds a write of ours that was reported failed but landed,
        // take its revision and write again (else every later write would be refused until
        // the lease was lost). A successor's write is never adopted.
        try {
          if (await this.d.store.adoptOwnWrite()) {
            await this.d.store.save(state);
            this.d.log.warn("a state write reported failed had landed; revision adopted");
            return true;
          }
        } catch (again) {
          this.d.log.error({ err: again }, "could not persist decider state; actions withheld");
          return false;
        }
      }
      this.d.log.error({ err }, "could not persist decider state; actions withheld");
      return false;
    }
  }

  private acting(): boolean {
    return this.d.lease.leader && this.takenOver;
  }

  private isLeaderOf(epoch: number): boolean {
    return this.takenOver && this.d.lease.leader && this.d.lease.epoch === epoch;
  }

  private newOpId(): string {
    this.opCounter = (this.opCounter + 1) % 1e6;
    const t = this.d.now().toString(36);
    return `op-${t}-${this.opCounter.toString(36)}-${this.d.lease.epoch}`;
  }
}
