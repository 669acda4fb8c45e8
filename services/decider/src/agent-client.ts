// Sends one request to a host agent and returns its result; always resolves. No reply within
// timeoutMs → TIMEOUT, no agent serving the host → SERVER_UNREACHABLE (both safe to send
// again: the agent answers a repeated opId with the operation's state instead of running it
// twice). A refusal for the lease's sake (not yet visible to the agent) is sent again here
// after a pause.
import {
  type AgentRequest,
  AgentRequestMessage,
  type AgentResult,
  AgentResultMessage,
  envelope,
  errorBody,
  MarinaError,
  mustParse,
  parseMessage,
  subjects,
} from "@marina/contracts";
import type { Bus } from "./bus.js";
import { retryLeaseRefusals } from "./lease-retry.js";

export interface AgentRequestOptions {
  /** Reply wait, all attempts included. */
  timeoutMs: number;
  source: string;
  /** Checked before sending: a decider that lost its lease sends nothing. */
  mayAct: () => boolean;
}

type AgentFailureCode = "TIMEOUT" | "SERVER_UNREACHABLE" | "NOT_LEADER" | "INTERNAL";

function agentFailure(req: AgentRequest, code: AgentFailureCode, message: string): AgentResult {
  return {
    host: req.host,
    opId: req.opId,
    ok: false,
    durationMs: 0,
    data: {},
    error: errorBody(code, message),
  };
}

export function runAgentRequest(
  bus: Bus,
  req: AgentRequest,
  opts: AgentRequestOptions,
): Promise<AgentResult> {
  return retryLeaseRefusals(
    (timeoutMs) => sendAgentRequest(bus, req, { ...opts, timeoutMs }),
    opts,
  );
}

async function sendAgentRequest(
  bus: Bus,
  req: AgentRequest,
  opts: AgentRequestOptions,
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
    const reply = await bus.request(subjects.agent(req.host, action), JSON.stringify(msg), {
      timeoutMs: opts.timeoutMs,
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
    if (err instanceof MarinaError && err.code === "SERVER_UNREACHABLE") {
      return agentFailure(req, "SERVER_UNREACHABLE", `no agent serves host ${req.host}`);
    }
    return agentFailure(
      req,
      "TIMEOUT",
      `agent ${req.host} did not answer ${action} within ${opts.timeoutMs} ms: ${(err as Error).message}`,
    );
  }
}
