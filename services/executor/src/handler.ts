// The exec subject's handler: parse → fence → run one step → reply. Always produces a
// reply; a request that is refused never reaches a database connection.
import {
  type ErrorBody,
  type ExecResult,
  ExecResultMessage,
  envelope,
  errorBodyOf,
  isHostStep,
  MarinaError,
  mustParse,
} from "@marina/contracts";
import type { LeaseFence } from "@marina/lease-fence";
import type { Logger } from "@marina/runtime";
import type { Clock } from "./clock.js";
import type { Connector } from "./db.js";
import type { VetoAsker } from "./hooks/context.js";
import { runHostStep } from "./hooks/host-steps.js";
import type { StepOutcome } from "./metrics.js";
import { admit } from "./request.js";
import { runStep, StepError, socketTimeoutFor } from "./steps/index.js";
import { dbTargetOf, type ResolvedCluster } from "./targets.js";

export interface ExecutorOptions {
  readonly connectTimeoutMs: number;
  /** socketTimeout for ordinary steps; waits add their own timeout on top. */
  readonly socketTimeoutMs: number;
}

export const DEFAULT_OPTIONS: ExecutorOptions = { connectTimeoutMs: 1000, socketTimeoutMs: 5000 };

export interface HandlerDeps {
  readonly id: string;
  readonly clusters: ReadonlyMap<string, ResolvedCluster>;
  readonly fence: LeaseFence;
  readonly connect: Connector;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: ExecutorOptions;
  /** Told how each request ended (ExecutorMetrics.record). */
  readonly observe?: (outcome: StepOutcome) => void;
  /** NATS request with many replies, for the ask-veto step. */
  readonly ask: VetoAsker;
}

export type ExecResultEnvelope = ReturnType<typeof ExecResultMessage.parse>;

const MAX_MESSAGE = 4096;

function clipError(e: ErrorBody): ErrorBody {
  return e.message.length <= MAX_MESSAGE ? e : { ...e, message: e.message.slice(0, MAX_MESSAGE) };
}

export function sourceOf(id: string): string {
  return `executor:${id}`;
}

export async function handleExecRequest(
  deps: HandlerDeps,
  subjectCluster: string,
  data: Uint8Array | string,
): Promise<ExecResultEnvelope> {
  const started = deps.clock.now();
  const reply = (
    stepId: string,
    result: Omit<ExecResult, "stepId" | "executor" | "durationMs">,
  ) => {
    const payload: ExecResult = {
      stepId,
      executor: deps.id,
      durationMs: Math.max(0, deps.clock.now() - started),
      ...result,
      error: result.error ? clipError(result.error) : null,
    };
    try {
      return mustParse(ExecResultMessage, envelope("exec-result", sourceOf(deps.id), payload));
    } catch (err) {
      // Our own reply failed its schema (e.g. odd step data): say so rather than go silent.
      deps.log.error({ stepId, err: (err as Error).message }, "exec result failed validation");
      return mustParse(
        ExecResultMessage,
        envelope("exec-result", sourceOf(deps.id), {
          ...payload,
          ok: false,
          data: {},
          error: clipError(
            errorBodyOf(new MarinaError("INTERNAL", `bad result: ${(err as Error).message}`)),
          ),
        }),
      );
    }
  };

  const a = admit(data, subjectCluster, deps.clusters);
  if (!a.ok) {
    deps.log.warn(
      { cluster: subjectCluster, stepId: a.stepId, code: a.error.code, path: a.error.path },
      "exec request refused",
    );
    deps.observe?.({
      stage: "refused",
      cluster: subjectCluster,
      step: a.request?.step.kind,
      code: a.error.code,
      byFence: false,
    });
    return reply(a.stepId, { ok: false, data: {}, error: a.error });
  }
  const { request: req, cluster, server } = a;
  const log = deps.log.child({
    cluster: req.cluster,
    server: req.server,
    opId: req.opId,
    stepId: req.stepId,
    step: req.step.kind,
    epoch: req.epoch,
  });

  // Only the current leader lease's epoch may change anything; nothing is learnt from a request.
  const verdict = await deps.fence.admit(req.cluster, req.epoch);
  if (!verdict.ok) {
    log.warn({ code: verdict.error.code, current: verdict.currentEpoch }, verdict.error.message);
    deps.observe?.({
      stage: "refused",
      cluster: req.cluster,
      step: req.step.kind,
      code: verdict.error.code,
      byFence: true,
    });
    return reply(req.stepId, {
      ok: false,
      data: verdict.currentEpoch === null ? {} : { currentEpoch: verdict.currentEpoch },
      error: verdict.error,
    });
  }

  const target = dbTargetOf(cluster, server);
  const ran = (code: string | null) =>
    deps.observe?.({
      stage: "ran",
      cluster: req.cluster,
      server: req.server,
      step: req.step.kind,
      code,
      seconds: Math.max(0, deps.clock.now() - started) / 1000,
    });
  try {
    if (isHostStep(req.step)) {
      // A hook or a veto request: no database connection (the server may well be dead).
      const out = await runHostStep(
        { cluster, request: req, log, source: sourceOf(deps.id), ask: deps.ask },
        req.step,
      );
      log.info({ durationMs: deps.clock.now() - started }, "step done");
      ran(null);
      return reply(req.stepId, { ok: true, data: out, error: null });
    }
    const openSession = () =>
      deps.connect(
        target,
        {
          connectTimeoutMs: deps.options.connectTimeoutMs,
          socketTimeoutMs: socketTimeoutFor(req.step, deps.options.socketTimeoutMs),
        },
        log,
      );
    const source = a.source;
    const openSourceSession = () => {
      if (!source) return Promise.reject(new StepError("INTERNAL", "the step names no source"));
      return deps.connect(
        dbTargetOf(cluster, source),
        {
          connectTimeoutMs: deps.options.connectTimeoutMs,
          socketTimeoutMs: socketTimeoutFor(req.step, deps.options.socketTimeoutMs),
        },
        log,
      );
    };
    const db = await openSession();
    try {
      const out = await runStep(
        {
          db,
          openSession,
          openSourceSession,
          cluster,
          server,
          source: a.source,
          clock: deps.clock,
          log,
          opId: req.opId,
          executor: deps.id,
        },
        req.step,
      );
      log.info({ durationMs: deps.clock.now() - started }, "step done");
      ran(null);
      return reply(req.stepId, { ok: true, data: out, error: null });
    } finally {
      await db.close();
    }
  } catch (err) {
    const body = errorBodyOf(err);
    const level = body.code === "INTERNAL" ? "error" : "warn";
    log[level]({ code: body.code, err: body.message }, "step failed");
    ran(body.code);
    return reply(req.stepId, {
      ok: false,
      data: err instanceof StepError ? err.data : {},
      error: body,
    });
  }
}
