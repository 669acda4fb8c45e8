import type { z } from "zod";
import {
  AgentHeartbeatMessage,
  AgentProgressMessage,
  AgentRequestMessage,
  AgentResultMessage,
} from "./agent.js";
import { CommandMessages, CommandPayloads, CommandReplyMessage } from "./commands.js";
import { ClusterEventMessage } from "./events.js";
import { ExecRequestMessage, ExecResultMessage } from "./executor.js";
import { HealthMessage } from "./health.js";
import { HistoryMessage } from "./history.js";
import { VetoReplyMessage, VetoRequestMessage } from "./hooks.js";
import { OperationMessage } from "./operations.js";
import { ObservedTopologyMessage, TopologyMessage } from "./topology.js";

/** Every message schema by file name; docs/schemas/<name>.json is generated from this. */
export const messageSchemas: Record<string, z.ZodType> = {
  health: HealthMessage,
  "observed-topology": ObservedTopologyMessage,
  topology: TopologyMessage,
  event: ClusterEventMessage,
  operation: OperationMessage,
  history: HistoryMessage,
  "command-reply": CommandReplyMessage,
  "exec-request": ExecRequestMessage,
  "exec-result": ExecResultMessage,
  "veto-request": VetoRequestMessage,
  "veto-reply": VetoReplyMessage,
  "agent-request": AgentRequestMessage,
  "agent-result": AgentResultMessage,
  "agent-heartbeat": AgentHeartbeatMessage,
  "agent-progress": AgentProgressMessage,
  ...Object.fromEntries(Object.entries(CommandMessages).map(([verb, s]) => [`cmd.${verb}`, s])),
  ...Object.fromEntries(
    Object.entries(CommandPayloads).map(([verb, s]) => [`cmd.${verb}.payload`, s as z.ZodType]),
  ),
};
