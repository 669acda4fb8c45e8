// Sends one SQL step to the executors' queue group and returns its result. The executor
// that takes the step beats on a private inbox while it works; a step whose executor falls
// silent (it died) or that nobody took comes back as EXECUTOR_LOST within about a second,
// and the core sends it again — steps are idempotent — to another executor.
import {
  BEAT_LOST_MS,
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
import { createInbox, type NatsConnection } from "@nats-io/transport-node";

export interface StepOptions {
  /** Reply wait; should cover the step's own timeout. */
  timeoutMs: number;
  source: string;
  /** Checked before sending: a decider that lost its lease sends nothing. */
  mayAct: () => boolean;
  /** Silence after which the executor is presumed dead (default BEAT_LOST_MS). */
  lostAfterMs?: number;
}

function failed(req: ExecRequest, code: "EXECUTOR_LOST" | "NOT_LEADER", msg: string) {
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
  if (!opts.mayAct()) return failed(req, "NOT_LEADER", "lost the leader lease; step not sent");
  const beatTo = createInbox();
  const msg = mustParse(
    ExecRequestMessage,
    envelope("exec-request", opts.source, { ...req, beatTo }),
  );
  const lostAfter = opts.lostAfterMs ?? BEAT_LOST_MS;
  let lastBeat = performance.now();
  const beats = nc.subscribe(beatTo, {
    callback: () => {
      lastBeat = performance.now();
    },
  });
  let watchdog: NodeJS.Timeout | undefined;
  const silent = new Promise<ExecResult>((resolve) => {
    watchdog = setInterval(
      () => {
        const quiet = performance.now() - lastBeat;
        if (quiet > lostAfter) {
          resolve(
            failed(
              req,
              "EXECUTOR_LOST",
              `no executor worked on step ${req.step.kind} on ${req.server} for ${Math.round(quiet)} ms`,
            ),
          );
        }
      },
      Math.max(50, Math.floor(lostAfter / 5)),
    );
  });
  const answered = (async (): Promise<ExecResult> => {
    try {
      await nc.flush(); // the beat subscription is on the server before the request
      const reply = await nc.request(subjects.exec(req.cluster), JSON.stringify(msg), {
        timeout: opts.timeoutMs,
      });
      const parsed = parseMessage(ExecResultMessage, reply.data);
      if (!parsed.ok) {
        return failed(
          req,
          "EXECUTOR_LOST",
          `executor sent an invalid result: ${parsed.error.message}`,
        );
      }
      return parsed.value.payload;
    } catch (err) {
      // timeout or "no responders"
      return failed(
        req,
        "EXECUTOR_LOST",
        `no executor answered step ${req.step.kind} on ${req.server}: ${(err as Error).message}`,
      );
    }
  })();
  try {
    return await Promise.race([answered, silent]);
  } finally {
    clearInterval(watchdog);
    beats.unsubscribe();
  }
}
