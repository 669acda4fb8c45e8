// Subjects only Marina publishes (health samples, agent heartbeats, progress and results),
// as the decider reads them: each message must be valid and name the cluster, server or
// host of its subject (parseOnSubject). Anything else is skipped with a warning and
// changes nothing. A forged message that is valid gets through: only per-service NATS
// permissions can stop that (README, "Known gaps").
import {
  type AgentHeartbeat,
  AgentHeartbeatMessage,
  type AgentProgress,
  AgentProgressMessage,
  type AgentResult,
  AgentResultMessage,
  HealthMessage,
  type HealthSample,
  type MessageSchema,
  parseOnSubject,
  subjects,
} from "@marina/contracts";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";

/** Subscribes to one Marina subject; `deliver` gets only the valid payloads that fit it. */
function read<P>(
  nc: NatsConnection,
  log: Logger,
  subject: string,
  schema: MessageSchema<P>,
  deliver: (payload: P) => void,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const r = parseOnSubject(schema, msg.subject, msg.data);
      if (!r.ok) {
        log.warn({ subject: msg.subject, error: r.error }, "invalid message skipped");
        return;
      }
      deliver(r.value.payload);
    },
  });
}

export interface MarinaInputs {
  health(sample: HealthSample): void;
  heartbeat(heartbeat: AgentHeartbeat): void;
  agentDone(result: AgentResult): void;
  agentProgress(progress: AgentProgress): void;
}

/** The decider's subscriptions to what monitors and agents publish for `cluster`. */
export function readMarinaInputs(
  nc: NatsConnection,
  log: Logger,
  cluster: string,
  on: MarinaInputs,
): Subscription[] {
  return [
    read(nc, log, subjects.healthAll(cluster), HealthMessage, on.health),
    read(nc, log, subjects.agentHeartbeatAll(), AgentHeartbeatMessage, on.heartbeat),
    read(nc, log, subjects.agentDoneAll(), AgentResultMessage, on.agentDone),
    read(nc, log, subjects.agentProgressAll(), AgentProgressMessage, on.agentProgress),
  ];
}
