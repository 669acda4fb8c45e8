// Sends one SQL step to the executors' queue group and returns its result. Steps are
// idempotent, so a timeout or a missing executor is retried (possibly on another executor);
// after the last attempt the result is a failure the core can reason about.
import {
  type ExecRequest,
  ExecRequestMessage,
  type ExecResult,
  ExecResultMessage,
  envelope,
  errorBody,
  mustParse,
  parseMessage,
  subjects,
} from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";

export interface StepOptions {
  /** Reply wait per attempt; should cover the step's own timeout. */
  timeoutMs: number;
  attempts: number;
  source: string;
  /** Checked before every attempt: a decider that lost its lease sends nothing. */
  mayAct: () => boolean;
}

function failed(req: ExecRequest, code: "TIMEOUT" | "NOT_LEADER" | "INTERNAL", msg: string) {
  const r: ExecResult = {
    stepId: req.stepId,
    ok: false,
    executor: "none",
    durationMs: 0,
    data: {},
    error: errorBody(code, msg),
  };
  return r;
}

export async function runStep(
  nc: NatsConnection,
  req: ExecRequest,
  opts: StepOptions,
): Promise<ExecResult> {
  const msg = mustParse(ExecRequestMessage, envelope("exec-request", opts.source, req));
  const data = JSON.stringify(msg);
  let last = "";
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    if (!opts.mayAct()) return failed(req, "NOT_LEADER", "lost the leader lease; step not sent");
    try {
      const reply = await nc.request(subjects.exec(req.cluster), data, {
        timeout: opts.timeoutMs,
      });
      const parsed = parseMessage(ExecResultMessage, reply.data);
      if (!parsed.ok) {
        last = `executor sent an invalid result: ${parsed.error.message}`;
        continue;
      }
      return parsed.value.payload;
    } catch (err) {
      // timeout or "no responders": another executor may take the retry
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 250)));
    }
  }
  return failed(
    req,
    "TIMEOUT",
    `no executor answered step ${req.step.kind} on ${req.server}: ${last}`,
  );
}
