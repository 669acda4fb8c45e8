// What monitors and agents publish, as inputs of the core. Each message must be valid and
// name the cluster, server or host of its subject (parseOnSubject); anything else is
// skipped with a warning and changes nothing. A forged message that is valid gets through:
// only per-service NATS permissions can stop that (README, "Known gaps").
// Commands come in through commands.ts; step results through exec-client.ts.
import {
  AgentHeartbeatMessage,
  AgentProgressMessage,
  AgentResultMessage,
  type ClusterConfig,
  HealthMessage,
  type MessageSchema,
  parseOnSubject,
  subjects,
} from "@marina/contracts";
import type { DeciderState, Input } from "@marina/decider-core";
import type { Logger } from "pino";
import type { Bus, BusSubscription } from "./bus.js";

export interface InboundDeps {
  readonly bus: Bus;
  readonly log: Logger;
  readonly config: ClusterConfig;
  /** True while this decider leads and has taken over the persisted state. */
  acting(): boolean;
  state(): DeciderState;
  push(input: Input): void;
}

/** Subscribes to one Marina subject; `deliver` gets only the valid payloads that fit it. */
function read<P>(
  bus: Bus,
  log: Logger,
  subject: string,
  schema: MessageSchema<P>,
  deliver: (payload: P) => void,
): BusSubscription {
  return bus.subscribe(subject, (msg) => {
    const r = parseOnSubject(schema, msg.subject, msg.data);
    if (!r.ok) {
      log.warn({ subject: msg.subject, error: r.error }, "invalid message skipped");
      return;
    }
    deliver(r.value.payload);
  });
}

/** The running operation's agent call with this agent-side id, if any. */
export function agentCallOf(
  state: DeciderState,
  host: string,
  agentOpId: string,
): { opId: string; key: string } | undefined {
  const op = state.operation;
  // (A state persisted by an older version may lack agentCalls until decide() upgrades it.)
  const c = (op?.agentCalls ?? []).find((x) => x.id === agentOpId && x.host === host);
  return op && c ? { opId: op.opId, key: c.key } : undefined;
}

/** The decider's subscriptions to health samples, agent heartbeats, results and progress. */
export function subscribeInbound(d: InboundDeps): BusSubscription[] {
  const { bus, log, config, push } = d;
  const hosts = new Set(config.servers.map((s) => s.agentHost).filter(Boolean));
  // Results and progress of long agent actions (rebuild) count when they belong to the
  // running operation (the leader's state names the agent-side ids it sent).
  const callOf = (host: string, agentOpId: string) =>
    d.acting() ? agentCallOf(d.state(), host, agentOpId) : undefined;
  return [
    read(bus, log, subjects.healthAll(config.name), HealthMessage, (sample) =>
      push({ kind: "health", sample }),
    ),
    // Agents of other clusters' hosts beat on the same subjects: not ours, not invalid.
    read(bus, log, subjects.agentHeartbeatAll(), AgentHeartbeatMessage, (heartbeat) => {
      if (hosts.has(heartbeat.host)) push({ kind: "agent-heartbeat", heartbeat });
    }),
    read(bus, log, subjects.agentDoneAll(), AgentResultMessage, (result) => {
      const call = callOf(result.host, result.opId);
      if (call) push({ kind: "agent-result", ...call, via: "done", result });
    }),
    read(bus, log, subjects.agentProgressAll(), AgentProgressMessage, (progress) => {
      const call = callOf(progress.host, progress.opId);
      if (call) push({ kind: "agent-progress", ...call, progress });
    }),
  ];
}
