// The thin shell around decide() for one cluster: it feeds inputs one at a time, persists
// the decisions before acting on them (so a new leader can resume), and carries out the
// actions: publish, reply, send steps to executors and agent requests to host agents, and
// feed their results back.
import {
  type AgentRequest,
  AgentRequestMessage,
  type AgentResult,
  AgentResultMessage,
  type ClusterConfig,
  ClusterEventMessage,
  type Command,
  type CommandReply,
  CommandReplyMessage,
  type CommandVerb,
  envelope,
  errorBody,
  mustParse,
  OperationMessage,
  parseCommand,
  parseMessage,
  ROOT,
  subjects,
  TopologyMessage,
  VERB_MAX,
} from "@marina/contracts";
import {
  type Action,
  type DeciderOptions as DeciderCoreOptions,
  type DeciderState,
  decide,
  type Input,
  initialState,
  summarizeAction,
} from "@marina/decider-core";
import { errors, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { runStep } from "./exec-client.js";
import type { Lease } from "./lease.js";
import { retryLeaseRefusals } from "./lease-retry.js";
import { readMarinaInputs } from "./readers.js";
import { SshTransport, sshRefusal } from "./ssh-transport.js";
import { mergeOnTakeover, type StateStore } from "./store.js";

export interface RunnerDeps {
  nc: NatsConnection;
  config: ClusterConfig;
  lease: Lease;
  store: StateStore;
  id: string;
  log: Logger;
  /** Wall-clock milliseconds. */
  now: () => number;
  tickMs: number;
  /** Tunables of the core (timeouts, retries); defaults suit production. */
  coreOptions?: Partial<DeciderCoreOptions>;
  /** Receives every input with its context and the resulting actions (JSONL recording). */
  record?: (line: RecordedInput) => void;
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

/** Where followers forward commands; only the leader subscribes. */
export const leaderCmdSubject = (cluster: string, verb: string) =>
  `${ROOT}.${cluster}.leader.cmd.${verb}`;

export class ClusterRunner {
  state: DeciderState;
  private readonly queue: Input[] = [];
  private running = false;
  private readonly replies = new Map<string, Msg>();
  private readonly subs: Subscription[] = [];
  private leaderSub: Subscription | undefined;
  private tick: NodeJS.Timeout | undefined;
  private opCounter = 0;
  private requestCounter = 0;
  private closed = false;
  private idle: Array<() => void> = [];
  /** Leadership counts only once the persisted state was loaded and merged. */
  private takenOver = false;
  /** Agentless calls (`ssh:<server>` pseudo hosts) run here, over SSH. */
  private readonly ssh: SshTransport;

  constructor(private readonly d: RunnerDeps) {
    this.state = initialState(d.config.name);
    this.ssh = new SshTransport({ config: d.config, log: d.log.child({ transport: "ssh" }) });
  }

  private get cluster() {
    return this.d.config.name;
  }

  start(): void {
    const { nc, config } = this.d;
    const hosts = new Set(config.servers.map((s) => s.agentHost).filter(Boolean));
    this.subs.push(
      ...readMarinaInputs(nc, this.d.log, this.cluster, {
        health: (sample) => this.push({ kind: "health", sample }),
        // Agents of other clusters' hosts beat on the same subjects: not ours, not invalid.
        heartbeat: (heartbeat) => {
          if (hosts.has(heartbeat.host)) this.push({ kind: "agent-heartbeat", heartbeat });
        },
        // Final results and progress of long agent actions (rebuild): fed when they belong
        // to the running operation (the leader's state names the agent-side ids it sent).
        agentDone: (result) => {
          const call = this.acting() ? this.agentCallOf(result.host, result.opId) : undefined;
          if (call) this.push({ kind: "agent-result", ...call, via: "done", result });
        },
        agentProgress: (progress) => {
          const call = this.acting() ? this.agentCallOf(progress.host, progress.opId) : undefined;
          if (call) this.push({ kind: "agent-progress", ...call, progress });
        },
      }),
    );
    // Every decider takes commands (queue group); followers forward them to the leader.
    this.subs.push(
      nc.subscribe(subjects.cmdAll(this.cluster), {
        queue: "deciders",
        callback: (err, msg) => {
          if (!err) void this.onCommand(msg, false);
        },
      }),
    );
    this.tick = setInterval(() => {
      if (this.queue.length === 0) this.push({ kind: "tick" });
    }, this.d.tickMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.tick) clearInterval(this.tick);
    await this.ssh.abortAll();
    for (const s of this.subs) s.unsubscribe();
    this.leaderSub?.unsubscribe();
    await this.whenIdle();
  }

  /** Called by the lease when leadership changes. */
  async onLeadership(leader: boolean, epoch: number): Promise<void> {
    this.d.log.info({ leader, epoch }, leader ? "became leader" : "not leader");
    this.takenOver = false;
    if (leader) {
      const persisted = await this.d.store.load().catch((err: unknown) => {
        this.d.log.error({ err }, "could not load decider state; starting from knowledge");
        return undefined;
      });
      this.state = mergeOnTakeover(this.state, persisted);
      this.d.store.forget();
      this.leaderSub = this.d.nc.subscribe(leaderCmdSubject(this.cluster, "*"), {
        callback: (err, msg) => {
          if (!err) void this.onCommand(msg, true);
        },
      });
      this.takenOver = true;
      this.push({ kind: "resume" });
    } else {
      this.leaderSub?.unsubscribe();
      this.leaderSub = undefined;
      // SSH transfers run in this process: a former leader hangs them up (the new leader
      // asks again for the calls in flight).
      await this.ssh.abortAll();
    }
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
    const leader = this.acting();
    const epoch = this.d.lease.epoch;
    let result: ReturnType<typeof decide>;
    const now = this.d.now();
    const opIds: string[] = [];
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
      return;
    }
    this.state = result.state;
    this.d.record?.({
      type: "input",
      at: now,
      leader,
      epoch,
      input,
      opIds,
      actions: result.actions.map(summarizeAction),
    });
    if (leader) {
      try {
        await this.d.store.save(result.state);
      } catch (err) {
        // Without the write-ahead record a successor could not resume: act on nothing.
        this.d.log.error({ err }, "could not persist decider state; actions withheld");
        for (const a of result.actions) if (a.kind === "reply") this.execute(a, epoch);
        return;
      }
    }
    // A leader paused between deciding and here must not publish in its old epoch's name.
    const stillLeader = !leader || this.isLeaderOf(epoch);
    // Replies first: a client hears "accepted, opId" before anything about the operation, so
    // whoever acts on the operation's first event already has the answer.
    const ordered = [
      ...result.actions.filter((a) => a.kind === "reply"),
      ...result.actions.filter((a) => a.kind !== "reply"),
    ];
    for (const a of ordered) {
      if (stillLeader || a.kind === "reply") this.execute(a, epoch);
    }
  }

  private acting(): boolean {
    return this.d.lease.leader && this.takenOver;
  }

  /** The running operation's agent call with this agent-side id, if any. */
  private agentCallOf(host: string, agentOpId: string): { opId: string; key: string } | undefined {
    const op = this.state.operation;
    // (A state persisted by an older version may lack agentCalls until decide() upgrades it.)
    const c = (op?.agentCalls ?? []).find((x) => x.id === agentOpId && x.host === host);
    return op && c ? { opId: op.opId, key: c.key } : undefined;
  }

  private isLeaderOf(epoch: number): boolean {
    return this.takenOver && this.d.lease.leader && this.d.lease.epoch === epoch;
  }

  private newOpId(): string {
    this.opCounter = (this.opCounter + 1) % 1e6;
    const t = this.d.now().toString(36);
    return `op-${t}-${this.opCounter.toString(36)}-${this.d.lease.epoch}`;
  }

  private publish(subject: string, data: unknown): void {
    this.d.nc.publish(subject, JSON.stringify(data));
  }

  private execute(a: Action, epoch: number): void {
    const log = this.d.log;
    const source = this.d.id;
    switch (a.kind) {
      case "event":
        log.info(
          { situation: a.event.situation, server: a.event.server, reason: a.reason },
          "situation",
        );
        this.publish(
          subjects.events(this.cluster),
          mustParse(ClusterEventMessage, envelope("event", source, a.event)),
        );
        return;
      case "topology":
        log.info(
          { primary: a.topology.primary, generation: a.topology.generation, reason: a.reason },
          "topology",
        );
        this.publish(
          subjects.topology(this.cluster),
          mustParse(TopologyMessage, envelope("topology", source, a.topology)),
        );
        return;
      case "operation":
        log.info(
          { opId: a.event.opId, kind: a.event.kind, state: a.event.state, phase: a.event.phase },
          a.event.message,
        );
        this.publish(
          subjects.op(this.cluster, a.event.opId),
          mustParse(OperationMessage, envelope("operation", source, a.event)),
        );
        return;
      case "reply":
        this.reply(a.requestId, a.reply);
        return;
      case "step": {
        const req = a.request;
        log.debug(
          {
            opId: req.opId,
            stepId: req.stepId,
            server: req.server,
            step: req.step.kind,
            reason: a.reason,
          },
          "step",
        );
        void runStep(this.d.nc, req, {
          timeoutMs: a.timeoutMs,
          source,
          mayAct: () => this.isLeaderOf(epoch),
          log,
        }).then((result) => {
          if (!result.ok) {
            log.warn(
              { opId: req.opId, stepId: req.stepId, server: req.server, error: result.error },
              "step failed",
            );
          }
          this.push({ kind: "step-result", opId: req.opId, stepId: req.stepId, result });
        });
        return;
      }
      case "agent": {
        const req = a.request;
        log.info(
          { opId: a.opId, host: req.host, action: req.request.action, reason: a.reason },
          "agent request",
        );
        if (SshTransport.handles(req.host)) {
          this.runOverSsh(a, epoch);
          return;
        }
        void runAgentRequest(this.d.nc, req, {
          timeoutMs: a.timeoutMs,
          source,
          mayAct: () => this.isLeaderOf(epoch),
        }).then((result) => {
          if (!result.ok) {
            log.warn(
              { opId: a.opId, host: req.host, action: req.request.action, error: result.error },
              "agent request failed",
            );
          }
          this.push({ kind: "agent-result", opId: a.opId, key: a.key, via: "reply", result });
        });
        return;
      }
      default: {
        const never: never = a;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  /** An agent call for an `ssh:<server>` pseudo host: run here, answered as an agent would. */
  private runOverSsh(a: Extract<Action, { kind: "agent" }>, epoch: number): void {
    const op = this.state.operation;
    const plan = op?.opId === a.opId ? op.plan : undefined;
    const call = {
      opId: a.opId,
      key: a.key,
      host: a.request.host,
      callId: a.request.opId,
      action: a.request.request,
      donor: plan?.kind === "rebuild" ? plan.source : null,
    };
    const result = (via: "reply" | "done", r: AgentResult) => {
      if (!r.ok) {
        this.d.log.warn(
          { opId: a.opId, host: call.host, action: call.action.action, error: r.error },
          "ssh call failed",
        );
      }
      this.push({ kind: "agent-result", opId: a.opId, key: a.key, via, result: r });
    };
    if (!this.isLeaderOf(epoch)) {
      result("reply", sshRefusal(call, "lost the leader lease; not run"));
      return;
    }
    this.ssh.run(call, {
      result,
      progress: (progress) =>
        this.push({ kind: "agent-progress", opId: a.opId, key: a.key, progress }),
    });
  }

  private reply(requestId: string, reply: CommandReply): void {
    const msg = this.replies.get(requestId);
    if (!msg) return;
    this.replies.delete(requestId);
    msg.respond(
      JSON.stringify(mustParse(CommandReplyMessage, envelope("command-reply", this.d.id, reply))),
    );
  }

  private respondError(msg: Msg, verb: string, error: ReturnType<typeof errorBody>): void {
    // The verb comes from the subject: any token at all, so it is clipped to fit the reply.
    const reply: CommandReply = { ok: false, verb: verb.slice(0, VERB_MAX), error };
    msg.respond(JSON.stringify(envelope("command-reply", this.d.id, reply)));
  }

  private async onCommand(msg: Msg, viaLeaderSubject: boolean): Promise<void> {
    const verb = msg.subject.split(".").pop() ?? "";
    const parsed = parseCommand(verb, msg.data);
    if (!parsed.ok) {
      this.respondError(msg, verb, parsed.error);
      return;
    }
    if (!this.acting()) {
      // A stale subscription on the leader subject stays silent: the real leader answers.
      if (viaLeaderSubject) return;
      try {
        const r = await this.d.nc.request(leaderCmdSubject(this.cluster, verb), msg.data, {
          timeout: 10_000,
        });
        msg.respond(r.data);
      } catch (err) {
        this.respondError(
          msg,
          verb,
          errorBody(
            "NOT_LEADER",
            `no decider leads ${this.cluster} right now: ${(err as Error).message}`,
          ),
        );
      }
      return;
    }
    this.requestCounter += 1;
    const requestId = `${this.d.id}-${this.requestCounter}`;
    this.replies.set(requestId, msg);
    this.push({
      kind: "command",
      requestId,
      command: { verb: verb as CommandVerb, payload: parsed.value } as Command,
    });
  }
}

function agentFailure(
  req: AgentRequest,
  code: "TIMEOUT" | "SERVER_UNREACHABLE" | "NOT_LEADER" | "INTERNAL",
  message: string,
): AgentResult {
  return {
    host: req.host,
    opId: req.opId,
    ok: false,
    durationMs: 0,
    data: {},
    error: errorBody(code, message),
  };
}

/**
 * One request to a host agent; always resolves. No reply within timeoutMs → TIMEOUT, no
 * agent serving the host → SERVER_UNREACHABLE (both safe to send again: the agent answers
 * a repeated opId with the operation's state instead of running it twice). A refusal for
 * the lease's sake (not yet visible to the agent) is sent again after a pause.
 */
export function runAgentRequest(
  nc: NatsConnection,
  req: AgentRequest,
  opts: { timeoutMs: number; source: string; mayAct: () => boolean },
): Promise<AgentResult> {
  return retryLeaseRefusals((timeoutMs) => sendAgentRequest(nc, req, { ...opts, timeoutMs }), opts);
}

async function sendAgentRequest(
  nc: NatsConnection,
  req: AgentRequest,
  opts: { timeoutMs: number; source: string; mayAct: () => boolean },
): Promise<AgentResult> {
  if (!opts.mayAct()) return agentFailure(req, "NOT_LEADER", "lost the leader lease; not sent");
  const action = req.request.action;
  let msg: unknown;
  try {
    msg = mustParse(AgentRequestMessage, envelope("agent-request", opts.source, req));
  } catch (err) {
    return agentFailure(req, "INTERNAL", `invalid agent request: ${(err as Error).message}`);
  }
  try {
    const reply = await nc.request(subjects.agent(req.host, action), JSON.stringify(msg), {
      timeout: opts.timeoutMs,
    });
    const parsed = parseMessage(AgentResultMessage, reply.data);
    if (!parsed.ok) {
      return agentFailure(
        req,
        "INTERNAL",
        `agent ${req.host} sent an invalid result: ${parsed.error.message}`,
      );
    }
    return parsed.value.payload;
  } catch (err) {
    if (err instanceof errors.RequestError && err.isNoResponders()) {
      return agentFailure(req, "SERVER_UNREACHABLE", `no agent serves host ${req.host}`);
    }
    if (err instanceof errors.NoRespondersError) {
      return agentFailure(req, "SERVER_UNREACHABLE", `no agent serves host ${req.host}`);
    }
    return agentFailure(
      req,
      "TIMEOUT",
      `agent ${req.host} did not answer ${action} within ${opts.timeoutMs} ms: ${(err as Error).message}`,
    );
  }
}
