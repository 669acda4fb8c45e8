import {
  BEAT_INTERVAL_MS,
  ExecBeat,
  ExecRequest,
  type MarinaConfig,
  MarinaError,
  parseClusterSubject,
  QUEUE_GROUPS,
  subjects,
} from "@marina/contracts";
import { kvLeaseSource, LeaseFence, type LeaseSource } from "@marina/lease-fence";
import { type Logger, systemClock } from "@marina/runtime";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Clock } from "./clock.js";
import { type Connector, connectSession } from "./db.js";
import { DEFAULT_OPTIONS, type ExecutorOptions, handleExecRequest } from "./handler.js";
import { natsAsker } from "./hooks/nats-asker.js";
import { ExecutorMetrics, type StepOutcome } from "./metrics.js";
import { resolveClusters } from "./targets.js";

/** Every executor subscribes in this queue group: one member gets each request. */
export const QUEUE_GROUP = QUEUE_GROUPS.executors;

export interface AppDeps {
  /** A connected NATS client; the app does not close it. */
  readonly bus: NatsConnection;
  readonly db?: Connector;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly config: MarinaConfig;
  readonly id: string;
  /** Defaults to the JetStream KV lease (bucket marina_leader), watched; the app closes it. */
  readonly lease?: LeaseSource;
  readonly options?: Partial<ExecutorOptions>;
  readonly env?: NodeJS.ProcessEnv;
  /** Node's process metrics on /metrics too (the executor's own process: main.ts). */
  readonly defaultMetrics?: boolean;
}

export interface ExecutorApp {
  readonly id: string;
  readonly fence: LeaseFence;
  readonly metrics: ExecutorMetrics;
  /**
   * Starts watching the lease and subscribes to every configured cluster's exec subject
   * (queue group `executors`).
   */
  start(): void;
  /** Stops taking requests, lets the running steps reply, then returns. */
  close(): Promise<void>;
}

export function buildApp(deps: AppDeps): ExecutorApp {
  // The id goes into every result; one the result schema refuses would make replies impossible.
  if (deps.id.length < 1 || deps.id.length > 128) {
    throw new MarinaError("VALIDATION_FAILED", "executor id must be 1-128 characters", {
      path: "id",
    });
  }
  const clock = deps.clock ?? systemClock;
  const clusters = resolveClusters(deps.config, deps.env);
  const log = deps.log;
  const fence = new LeaseFence(deps.lease ?? kvLeaseSource(deps.bus, { log }), () => clock.now());
  const subs: Subscription[] = [];
  const inflight = new Set<Promise<void>>();
  const metrics = new ExecutorMetrics(() => inflight.size, {
    defaultMetrics: deps.defaultMetrics ?? false,
  });
  const handlerDeps = {
    id: deps.id,
    clusters,
    fence,
    connect: deps.db ?? connectSession,
    clock,
    log,
    options: { ...DEFAULT_OPTIONS, ...deps.options },
    observe: (o: StepOutcome) => metrics.record(o),
    ask: natsAsker(deps.bus),
  };
  const encoder = new TextEncoder();

  // "Working on it" beats to the caller's beatTo subject, if the request names a valid one:
  // the caller learns within about a second that an executor died with its step.
  const startBeats = (data: Uint8Array): (() => void) => {
    let beatTo: string | undefined;
    let stepId = "";
    try {
      const env = JSON.parse(new TextDecoder().decode(data)) as {
        payload?: { beatTo?: unknown; stepId?: unknown };
      };
      const r = ExecRequest.shape.beatTo.safeParse(env.payload?.beatTo);
      beatTo = r.success ? r.data : undefined;
      stepId = typeof env.payload?.stepId === "string" ? env.payload.stepId.slice(0, 128) : "";
    } catch {
      return () => {};
    }
    if (!beatTo) return () => {};
    const to = beatTo;
    const beat = encoder.encode(JSON.stringify(ExecBeat.parse({ stepId, executor: deps.id })));
    const send = () => {
      try {
        deps.bus.publish(to, beat);
      } catch {
        // the connection is closing; the caller will notice the silence
      }
    };
    send();
    const timer = setInterval(send, BEAT_INTERVAL_MS);
    return () => clearInterval(timer);
  };

  const serve = async (
    subject: string,
    data: Uint8Array,
    replyTo: string | undefined,
    respond: (d: Uint8Array) => boolean,
  ) => {
    if (!replyTo) {
      // Nobody would learn the result: a step whose outcome nobody reads is not run.
      log.warn({ subject }, "exec request without a reply subject ignored");
      return;
    }
    const cluster = parseClusterSubject(subject)?.cluster ?? "";
    const stopBeats = startBeats(data);
    const result = await handleExecRequest(handlerDeps, cluster, data).finally(stopBeats);
    if (!respond(encoder.encode(JSON.stringify(result)))) {
      log.warn({ subject, stepId: result.payload.stepId }, "could not send exec result");
    }
  };

  return {
    id: deps.id,
    fence,
    metrics,
    start() {
      fence.start();
      for (const name of clusters.keys()) {
        const sub = deps.bus.subscribe(subjects.exec(name), {
          queue: QUEUE_GROUP,
          callback: (err, msg) => {
            if (err) {
              log.error({ err: err.message }, "exec subscription error");
              return;
            }
            const p = serve(msg.subject, msg.data, msg.reply, (d) => msg.respond(d))
              .catch((e: unknown) =>
                log.error({ err: (e as Error).message }, "exec handler crashed"),
              )
              .finally(() => inflight.delete(p));
            inflight.add(p);
          },
        });
        subs.push(sub);
        log.info({ subject: subjects.exec(name), queue: QUEUE_GROUP }, "serving exec requests");
      }
    },
    async close() {
      // Drain first: the server stops routing to this member (the queue group sends new
      // requests to the others) and requests already on their way here are still served.
      const draining = subs.splice(0).map((s) => s.drain());
      await Promise.allSettled(draining);
      await Promise.allSettled([...inflight]);
      await fence.close();
    },
  };
}
