// What the provisioning runner needs of the decider: the bus, the whole config (its clusters
// are the sources), and per cluster whether this decider acts as leader, its epoch and the
// primary its core knows.
import {
  type AgentAction,
  type AgentResult,
  type ClusterConfig,
  type CommandReply,
  type ErrorBody,
  type ExecResult,
  type ExecStep,
  envelope,
  errorBody,
  type MarinaConfig,
  mustParse,
  type OperationEvent,
  OperationMessage,
  subjects,
} from "@marina/contracts";
import type { Logger } from "pino";
import { runAgentRequest } from "../agent-client.js";
import type { Bus } from "../bus.js";
import { runStep } from "../exec-client.js";

export interface ClusterView {
  /** This decider leads the cluster and took over its state. */
  acting(): boolean;
  epoch(): number;
  /** The primary the cluster's core knows (null: none). */
  primary(): string | null;
  /** An operation of the core running now (its id), if any. */
  operation(): string | null;
  /** Why the server is in maintenance in this cluster; null: it is not. */
  maintenance(server: string): string | null;
  /** A command into the cluster's core, as the HTTP API sends one; its reply. */
  submit(verb: "set-maintenance" | "clear-maintenance", body: string): Promise<CommandReply>;
}

export interface ProvisionDeps {
  readonly bus: Bus;
  readonly config: MarinaConfig;
  readonly source: string;
  readonly log: Logger;
  readonly now: () => number;
  cluster(name: string): ClusterView | undefined;
  /** Step reply wait beyond the step's own timeout. */
  readonly stepTimeoutMs?: number;
  /** How long a copy (a dump and its load) may take. */
  readonly copyTimeoutMs?: number;
  /**
   * The servers an operation beside the cores runs on now, with its verb: one lock per
   * server, shared by every handler (provision-replica, backup, restore-backup).
   */
  readonly busy: Map<string, string>;
}

/** Maintenance reasons the operations beside the cores set: `<family> <opId>`. */
const BESIDE_REASON =
  /^(provision-replica|add-source|remove-source|backup|restore) [A-Za-z0-9_-]+$/;

/**
 * Why `server` may not start an operation beside the cores now: one runs on it here already
 * (whatever its verb), or a cluster listing it carries the maintenance of an operation of
 * another family than `families` (one an earlier leader runs, or a failure left). Null: it may.
 */
export function besideBusy(
  d: ProvisionDeps,
  server: string,
  families: readonly string[],
): ErrorBody | null {
  const running = d.busy.get(server);
  if (running) return errorBody("OPERATION_IN_PROGRESS", `${server}: ${running} runs on it now`);
  for (const c of d.config.clusters.filter((x) => x.servers.some((s) => s.name === server))) {
    const reason = d.cluster(c.name)?.maintenance(server) ?? null;
    const family = reason ? BESIDE_REASON.exec(reason)?.[1] : undefined;
    if (family && !families.includes(family)) {
      return errorBody(
        "OPERATION_IN_PROGRESS",
        `${server} is in maintenance in ${c.name} for ${reason}: wait until it ends, or clear that maintenance (marina -c ${c.name} maintenance clear ${server}) if it ended`,
      );
    }
  }
  return null;
}

export function clusterConfig(d: ProvisionDeps, name: string): ClusterConfig | undefined {
  return d.config.clusters.find((c) => c.name === name);
}

let counter = 0;
/** Ids of steps and agent calls, unique in this process. */
export function nextId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter.toString(36)}`;
}

/** One SQL step through `cluster`'s executors, fenced by this decider's epoch there. */
export async function execThrough(
  d: ProvisionDeps,
  opId: string,
  cluster: string,
  server: string,
  step: ExecStep,
): Promise<ExecResult> {
  const view = d.cluster(cluster);
  if (!view?.acting()) {
    return {
      stepId: "none",
      ok: false,
      executor: "none",
      durationMs: 0,
      data: {},
      error: errorBody("NOT_LEADER", `this decider does not lead ${cluster} (any more)`),
    };
  }
  const epoch = view.epoch();
  const own = "timeoutMs" in step && typeof step.timeoutMs === "number" ? step.timeoutMs : 0;
  return runStep(
    d.bus,
    { cluster, server, opId, stepId: nextId(`${opId}-s`), epoch, step, beatTo: "_INBOX.unused" },
    {
      timeoutMs: own + (d.stepTimeoutMs ?? 30_000),
      source: d.source,
      mayAct: () => view.acting() && view.epoch() === epoch,
      log: d.log,
    },
  );
}

/** One agent request fenced by `cluster`'s epoch (the cluster the agent files the server under). */
export async function callAgent(
  d: ProvisionDeps,
  cluster: string,
  host: string,
  agentOpId: string,
  request: AgentAction,
  timeoutMs: number,
): Promise<AgentResult> {
  const view = d.cluster(cluster);
  const epoch = view?.epoch() ?? 0;
  return runAgentRequest(
    d.bus,
    { host, opId: agentOpId, epoch, request },
    {
      timeoutMs,
      source: d.source,
      mayAct: () => (view?.acting() ?? false) && view?.epoch() === epoch,
    },
  );
}

/** A failure as the runner reports it. */
export class ProvisionFailure extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }
}

export function mustSucceed<R extends { ok: boolean; error: ErrorBody | null }>(
  r: R,
  what: string,
): R {
  if (r.ok) return r;
  const e = r.error ?? errorBody("INTERNAL", "failed without an error");
  throw new ProvisionFailure({ ...e, message: `${what}: ${e.message}`.slice(0, 4096) });
}

/**
 * Puts `server` in (or out of) maintenance in every cluster named. Setting it must succeed
 * everywhere (without it a cluster's automation could act on the server mid-operation);
 * clearing it is best effort.
 */
export async function setMaintenance(
  d: ProvisionDeps,
  clusters: string[],
  server: string,
  on: boolean,
  reason: string,
): Promise<void> {
  for (const c of clusters) {
    const verb = on ? "set-maintenance" : "clear-maintenance";
    const r = await d
      .cluster(c)
      ?.submit(verb, JSON.stringify({ server, reason }))
      .catch((err: Error) => ({ ok: false as const, error: errorBody("TIMEOUT", err.message) }));
    if (r?.ok) continue;
    const why = r ? r.error.message : `${c} is not configured here`;
    if (on) throw new ProvisionFailure(errorBody("REFUSED", `maintenance in ${c}: ${why}`));
    d.log.warn({ cluster: c, server, why }, "maintenance not cleared");
  }
}

/**
 * The clusters whose maintenance of `server` the run sets and clears: those where it is not
 * in maintenance now, or only by an earlier operation beside the cores (a failure left it;
 * besideBusy refused any of another family). An operator's flag stays.
 */
export function notInMaintenance(
  d: ProvisionDeps,
  clusters: readonly string[],
  server: string,
): string[] {
  return clusters.filter((c) => {
    const reason = d.cluster(c)?.maintenance(server) ?? null;
    return reason === null || BESIDE_REASON.test(reason);
  });
}

/** What the final event says of the clusters where the operator's flag stays. */
export function keptInMaintenance(all: readonly string[], mine: readonly string[], server: string) {
  const kept = all.filter((c) => !mine.includes(c));
  return kept.length > 0
    ? [`${server} left in maintenance in ${kept.join(", ")}, as it was before`]
    : [];
}

export interface OperationUpdate {
  cluster: string;
  opId: string;
  kind: OperationEvent["kind"];
  state: OperationEvent["state"];
  phase: string;
  servers: Record<string, string>;
  message: string;
  progress?: OperationEvent["progress"];
  startedAt: number;
  error: ErrorBody | null;
  timings: Record<string, number>;
}

/** One event of an operation run beside the cores, on `op.<opId>` of its cluster. */
export function publishOperation(d: ProvisionDeps, u: OperationUpdate): void {
  const event: OperationEvent = {
    cluster: u.cluster,
    opId: u.opId,
    kind: u.kind,
    state: u.state,
    phase: u.phase,
    epoch: d.cluster(u.cluster)?.epoch() ?? 0,
    servers: u.servers,
    message: u.message.slice(0, 4096),
    progress: u.progress ?? null,
    startedAt: new Date(u.startedAt).toISOString(),
    endedAt: u.state === "running" ? null : new Date(d.now()).toISOString(),
    error: u.error,
    timings: { ...u.timings },
  };
  d.log.info({ opId: u.opId, state: u.state, phase: u.phase, message: u.message }, u.kind);
  d.bus.publish(
    subjects.op(u.cluster, u.opId),
    JSON.stringify(mustParse(OperationMessage, envelope("operation", d.source, event))),
  );
}

/**
 * Why an operation beside the cores may not start now: this decider must lead every cluster
 * it touches, and none may run an operation of its own. Null: it may.
 */
export function leadershipRefusal(
  d: ProvisionDeps,
  clusters: readonly string[],
  needs: string,
): ErrorBody | null {
  const notLed = clusters.filter((c) => !d.cluster(c)?.acting());
  if (notLed.length > 0) {
    return errorBody(
      "NOT_LEADER",
      `this decider does not lead ${[...new Set(notLed)].join(", ")}: ${needs}`,
    );
  }
  const busy = clusters.flatMap((c) => {
    const op = d.cluster(c)?.operation();
    return op ? [`${c}: ${op}`] : [];
  });
  return busy.length > 0
    ? errorBody("OPERATION_IN_PROGRESS", `operations running: ${busy.join(", ")}`)
    : null;
}
