// Sends one SQL step to the executors' queue group and returns its result. The executor
// that takes the step beats on a private inbox at once and while it works. A step whose
// executor falls silent (it died) comes back as EXECUTOR_LOST within about a second; one
// that no executor took (no beat at all: none running, or the request went into a dead NATS
// route) as STEP_NOT_TAKEN, after the same wait, never at once. The core sends either
// again — steps are idempotent — to another executor. A refusal for
// the lease's sake (not yet visible to the executor) is sent again here after a pause.
import {
  BEAT_LOST_MS,
  ExecBeat,
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
import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import { retryLeaseRefusals } from "./lease-retry.js";

export interface StepOptions {
  /** Reply wait; should cover the step's own timeout. */
  timeoutMs: number;
  source: string;
  /** Checked before sending: a decider that lost its lease sends nothing. */
  mayAct: () => boolean;
  /** Silence after which the executor is presumed dead (default BEAT_LOST_MS). */
  lostAfterMs?: number;
  /** Where a message on the beat inbox that is not this step's beat is reported. */
  log?: Logger;
}

function failed(
  req: ExecRequest,
  code: "EXECUTOR_LOST" | "STEP_NOT_TAKEN" | "NOT_LEADER",
  msg: string,
) {
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

export function runStep(bus: Bus, req: ExecRequest, opts: StepOptions): Promise<ExecResult> {
  return retryLeaseRefusals((timeoutMs) => sendStep(bus, req, { ...opts, timeoutMs }), opts);
}

async function sendStep(bus: Bus, req: ExecRequest, opts: StepOptions): Promise<ExecResult> {
  if (!opts.mayAct()) return failed(req, "NOT_LEADER", "lost the leader lease; step not sent");
  const beatTo = bus.beatInbox();
  const msg = mustParse(
    ExecRequestMessage,
    envelope("exec-request", opts.source, { ...req, beatTo }),
  );
  const lostAfter = opts.lostAfterMs ?? BEAT_LOST_MS;
  let lastBeat = performance.now();
  let taken = false;
  const beats = bus.subscribe(beatTo, (m) => {
    // Only this step's beat counts: junk on the inbox must not keep a lost step alive.
    const beat = parseMessage(ExecBeat, m.data);
    if (beat.ok && beat.value.stepId === req.stepId) {
      lastBeat = performance.now();
      taken = true;
      return;
    }
    const error = beat.ok ? `a beat of step ${beat.value.stepId}` : beat.error;
    opts.log?.warn({ subject: m.subject, stepId: req.stepId, error }, "invalid beat skipped");
  });
  let watchdog: NodeJS.Timeout | undefined;
  const silent = new Promise<ExecResult>((resolve) => {
    watchdog = setInterval(
      () => {
        const quiet = performance.now() - lastBeat;
        if (quiet > lostAfter) {
          const what = `step ${req.step.kind} on ${req.server}`;
          resolve(
            taken
              ? failed(
                  req,
                  "EXECUTOR_LOST",
                  `the executor of ${what} fell silent for ${Math.round(quiet)} ms`,
                )
              : failed(
                  req,
                  "STEP_NOT_TAKEN",
                  `no executor took ${what} within ${Math.round(quiet)} ms`,
                ),
          );
        }
      },
      Math.max(50, Math.floor(lostAfter / 5)),
    );
  });
  const answered = (async (): Promise<ExecResult> => {
    try {
      await bus.flush(); // the beat subscription is on the server before the request
      const reply = await bus.request(subjects.exec(req.cluster), JSON.stringify(msg), {
        timeoutMs: opts.timeoutMs,
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
      // "No responders" comes at once: wait for the watchdog (STEP_NOT_TAKEN after the
      // beat-lost time), so that a step nobody can take is not sent again in a tight loop.
      if (!taken) return silent;
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
