// Builders for configs, observations and samples shaped like the real contracts, and a
// driver that feeds decide() and keeps the state — shared by the unit and property tests.
import {
  type AgentHeartbeat,
  ClusterConfig,
  ClusterEvent,
  ClusterTopology,
  type Command,
  CommandPayloads,
  CommandReply,
  ExecRequest,
  type ExecResult,
  type HealthSample,
  HealthSample as HealthSampleSchema,
  OperationEvent,
  OperationRecord,
  type ReplicationConnection,
  type ServerObservation,
} from "@marina/contracts";
import {
  type Action,
  type Ctx,
  type DeciderOptions,
  type DeciderState,
  decide,
  type Input,
  initialState,
} from "../src/index.js";

export const T0 = Date.parse("2026-11-20T12:00:00.000Z");

/** Outbound messages must be valid: what the service would publish, with a reason. */
export function validateAction(a: Action) {
  switch (a.kind) {
    case "event":
      ClusterEvent.parse(a.event);
      break;
    case "topology":
      ClusterTopology.parse(a.topology);
      break;
    case "step":
      ExecRequest.parse(a.request);
      break;
    case "operation":
      OperationEvent.parse(a.event);
      break;
    case "reply":
      CommandReply.parse(a.reply);
      break;
    case "agent":
      break;
    case "history":
      OperationRecord.parse(a.record);
      break;
    default: {
      const never: never = a;
      throw new Error(String(never));
    }
  }
  if (a.reason.length === 0) throw new Error(`action without a reason: ${JSON.stringify(a)}`);
}

export interface ConfigOver {
  servers?: {
    name: string;
    port?: number;
    neverPromote?: boolean;
    agentHost?: string;
    promotion?: string;
    datacenter?: string;
  }[];
  failover?: Record<string, unknown>;
  switchover?: Record<string, unknown>;
  semiSync?: boolean | "strict";
  monitor?: Record<string, unknown>;
  hooks?: Record<string, unknown>;
  saveBinlogs?: Record<string, unknown>;
}

export function makeConfig(over: ConfigOver = {}): ClusterConfig {
  const servers = (over.servers ?? [{ name: "db1" }, { name: "db2" }, { name: "db3" }]).map(
    (s, i) => ({
      name: s.name,
      host: "127.0.0.1",
      port: s.port ?? 3301 + i,
      ...(s.neverPromote !== undefined ? { neverPromote: s.neverPromote } : {}),
      ...(s.agentHost !== undefined ? { agentHost: s.agentHost } : {}),
      ...(s.promotion !== undefined ? { promotion: s.promotion } : {}),
      ...(s.datacenter !== undefined ? { datacenter: s.datacenter } : {}),
    }),
  );
  return ClusterConfig.parse({
    name: "main",
    servers,
    admin: { user: "marina", password: { value: "x" } },
    replication: { user: "repl", password: { value: "y" } },
    semiSync: over.semiSync ?? false,
    monitor: over.monitor ?? {},
    failover: { cooldownMs: 60_000, ...(over.failover ?? {}) },
    ...(over.switchover ? { switchover: over.switchover } : {}),
    ...(over.hooks ? { hooks: over.hooks } : {}),
    ...(over.saveBinlogs ? { saveBinlogs: over.saveBinlogs } : {}),
  });
}

export function portOf(config: ClusterConfig, server: string): number {
  const s = config.servers.find((x) => x.name === server);
  if (!s) throw new Error(`no server ${server}`);
  return s.port;
}

export function conn(
  config: ClusterConfig,
  source: string,
  over: Partial<ReplicationConnection> = {},
): ReplicationConnection {
  return {
    connection: "",
    masterHost: "127.0.0.1",
    masterPort: portOf(config, source),
    ioThread: "Yes",
    sqlThread: true,
    ioState: "Waiting for master to send event",
    sqlState: "Slave has read all relay log; waiting for more updates",
    usingGtid: "Slave_Pos",
    gtidIoPos: "",
    secondsBehindMaster: 0,
    lastIoErrno: 0,
    lastIoError: "",
    lastSqlErrno: 0,
    lastSqlError: "",
    heartbeatPeriodSec: 1,
    receivedHeartbeats: 10,
    quietMs: 200,
    relayLogSpace: 1024,
    ...over,
  };
}

export function obs(over: Partial<ServerObservation> = {}): ServerObservation {
  return {
    version: "10.11.19-MariaDB",
    serverId: 1,
    readOnly: true,
    logBin: true,
    logSlaveUpdates: true,
    gtidDomainId: 0,
    gtidStrictMode: true,
    gtidBinlogPos: "",
    gtidBinlogState: "",
    gtidCurrentPos: "",
    gtidSlavePos: "",
    semiSync: {
      masterEnabled: false,
      masterStatus: false,
      masterClients: 0,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10_000,
    },
    replication: [],
    disk: [],
    clientConnections: 0,
    ...over,
  };
}

let probeCounter = 0;

export function sample(
  config: ClusterConfig,
  server: string,
  o: ServerObservation | null,
  over: {
    monitor?: string;
    failures?: number;
    probe?: number;
    kind?: "refused" | "timeout";
    latencyMs?: number;
  } = {},
): HealthSample {
  probeCounter += 1;
  const reachable = o !== null;
  const s: HealthSample = {
    cluster: config.name,
    server,
    monitor: over.monitor ?? "m1",
    address: { host: "127.0.0.1", port: portOf(config, server) },
    probe: over.probe ?? probeCounter,
    reachable,
    latencyMs: reachable ? (over.latencyMs ?? 1) : null,
    consecutiveFailures: reachable ? 0 : (over.failures ?? 1),
    sinceLastSuccessMs: reachable ? 0 : 500,
    error: reachable
      ? null
      : {
          code: over.kind === "timeout" ? "ETIMEDOUT" : "ECONNREFUSED",
          message: over.kind === "timeout" ? "connect timeout" : "connect ECONNREFUSED",
          kind: over.kind ?? "refused",
        },
    observation: o,
  };
  return HealthSampleSchema.parse(s);
}

/** A primary db1 with replicas db2, db3 all at 0-1-100, the usual shape. */
export function healthyObservations(config: ClusterConfig, pos = "0-1-100") {
  const names = config.servers.map((s) => s.name);
  const [p, ...replicas] = names as [string, ...string[]];
  const out: Record<string, ServerObservation> = {
    [p]: obs({
      serverId: 1,
      readOnly: false,
      gtidBinlogPos: pos,
      gtidBinlogState: pos,
      gtidCurrentPos: pos,
    }),
  };
  replicas.forEach((r, i) => {
    out[r] = obs({
      serverId: i + 2,
      gtidBinlogPos: pos,
      gtidBinlogState: pos,
      gtidCurrentPos: pos,
      gtidSlavePos: pos,
      replication: [conn(config, p, { gtidIoPos: pos })],
    });
  });
  return out;
}

export function heartbeat(host: string, server: string, running: boolean): AgentHeartbeat {
  return {
    host,
    agentVersion: "0.1.0",
    uptimeMs: 1000,
    servers: [
      {
        name: server,
        datadir: `/tmp/${server}`,
        mariadbdRunning: running,
        pid: running ? 100 : null,
      },
    ],
    tools: {},
    busy: [],
  };
}

export function command<V extends Command["verb"]>(verb: V, payload: unknown = {}): Command {
  return { verb, payload: CommandPayloads[verb].parse(payload) } as Command;
}

export type StepAction = Extract<Action, { kind: "step" }>;
export type AgentAction = Extract<Action, { kind: "agent" }>;

export const agentsIn = (actions: Action[]): AgentAction[] =>
  actions.filter((a): a is AgentAction => a.kind === "agent");

export function okResult(stepId: string, data: Record<string, unknown> = {}): ExecResult {
  return { stepId, ok: true, executor: "sim", durationMs: 1, data, error: null };
}

export function errResult(
  stepId: string,
  code:
    | "TIMEOUT"
    | "SERVER_UNREACHABLE"
    | "SQL_ERROR"
    | "INTERNAL"
    | "EXECUTOR_LOST"
    | "STEP_NOT_TAKEN",
  message: string = code,
): ExecResult {
  const retryable = code !== "SQL_ERROR";
  return {
    stepId,
    ok: false,
    executor: "sim",
    durationMs: 1,
    data: {},
    error: { code, message, retryable },
  };
}

/** Feeds decide() one input at a time, keeping state, time and every action emitted. */
export class Driver {
  state: DeciderState;
  now: number;
  epoch = 1;
  leader = true;
  log: Action[] = [];
  private ops = 0;

  constructor(
    readonly config: ClusterConfig,
    readonly options: Partial<DeciderOptions> = {},
    now = T0,
  ) {
    this.state = initialState(config.name);
    this.now = now;
  }

  ctx(): Ctx {
    return {
      now: this.now,
      config: this.config,
      epoch: this.epoch,
      leader: this.leader,
      newOpId: () => {
        this.ops += 1;
        return `op${this.ops}`;
      },
      source: "test",
      options: this.options,
    };
  }

  /** Validate every action against the contracts (off where speed matters). */
  validate = true;

  feed(input: Input): Action[] {
    const r = decide(this.state, input, this.ctx());
    this.state = r.state;
    this.log.push(...r.actions);
    if (this.validate) for (const a of r.actions) validateAction(a);
    return r.actions;
  }

  advance(ms: number) {
    this.now += ms;
  }

  health(server: string, o: ServerObservation | null, over: Parameters<typeof sample>[3] = {}) {
    return this.feed({ kind: "health", sample: sample(this.config, server, o, over) });
  }

  /** One sample per server from a map; null observation = unreachable. */
  round(
    observations: Record<string, ServerObservation | null>,
    over: Parameters<typeof sample>[3] = {},
  ) {
    const out: Action[] = [];
    for (const [server, o] of Object.entries(observations))
      out.push(...this.health(server, o, over));
    return out;
  }

  command(verb: Command["verb"], payload: unknown = {}, requestId = "r1") {
    return this.feed({ kind: "command", requestId, command: command(verb, payload) });
  }

  result(step: StepAction, result: ExecResult) {
    return this.feed({
      kind: "step-result",
      opId: step.request.opId,
      stepId: step.request.stepId,
      result,
    });
  }
}

export function stepsIn(actions: Action[]): StepAction[] {
  return actions.filter((a): a is StepAction => a.kind === "step");
}

export function eventsIn(actions: Action[]) {
  return actions.flatMap((a) => (a.kind === "event" ? [a.event] : []));
}

export function situationsIn(actions: Action[]): string[] {
  return eventsIn(actions).map((e) => `${e.situation}${e.server ? ` ${e.server}` : ""}`);
}

export function opEventsIn(actions: Action[]) {
  return actions.flatMap((a) => (a.kind === "operation" ? [a.event] : []));
}

export function topologiesIn(actions: Action[]) {
  return actions.flatMap((a) => (a.kind === "topology" ? [a.topology] : []));
}

export function repliesIn(actions: Action[]) {
  return actions.flatMap((a) => (a.kind === "reply" ? [a.reply] : []));
}

/** One line per action, for readable sequence assertions. */
export function summarize(a: Action): string {
  switch (a.kind) {
    case "event":
      return `event ${a.event.situation}${a.event.server ? ` ${a.event.server}` : ""}`;
    case "topology":
      return `topology ${a.topology.primary ?? "-"} writer=${a.topology.writer?.server ?? "-"} ${a.topology.servers.map((s) => `${s.name}=${s.role}`).join(",")}`;
    case "step": {
      const s = a.request.step;
      const arg =
        s.kind === "set-read-only"
          ? ` ${s.readOnly}`
          : s.kind === "fence"
            ? ` kill=${s.kill}`
            : s.kind === "change-master"
              ? ` '${s.connection}'->${s.source}`
              : "connection" in s
                ? ` '${s.connection}'`
                : s.kind === "wait-gtid" || s.kind === "set-gtid-slave-pos"
                  ? ` ${s.pos}`
                  : "";
      return `step ${a.request.server} ${s.kind}${arg}`;
    }
    case "operation":
      return `op ${a.event.kind} ${a.event.state} ${a.event.phase}`;
    case "reply":
      return `reply ${a.reply.verb} ${a.reply.ok ? "ok" : a.reply.error.code}`;
    case "agent":
      return `agent ${a.request.host} ${a.request.request.action}`;
    case "history":
      return `history ${a.record.kind} ${a.record.outcome}`;
    default: {
      const never: never = a;
      return String(never);
    }
  }
}

/**
 * A scripted executor for tests without a simulated world: answers every step (and the
 * steps those answers lead to) with `answer(request)`; `null` leaves a step unanswered.
 */
export function execute(
  d: Driver,
  actions: Action[],
  answer: (req: StepAction["request"]) => ExecResult | null,
): Action[] {
  const all: Action[] = [];
  const queue = stepsIn(actions);
  let guard = 0;
  while (queue.length && guard++ < 500) {
    const a = queue.shift()!;
    const r = answer(a.request);
    if (r === null) continue;
    d.advance(1);
    const out = d.result(a, r);
    all.push(...out);
    queue.push(...stepsIn(out));
  }
  return all;
}

/** Answers every step in `actions`, and those that follow, with success; what came out. */
export function answerSteps(d: Driver, actions: Action[]): Action[] {
  const all: Action[] = [];
  const queue: StepAction[] = stepsIn(actions);
  while (queue.length) {
    const s = queue.shift()!;
    const out = d.result(s, okResult(s.request.stepId));
    all.push(...out);
    queue.push(...stepsIn(out));
  }
  return all;
}
