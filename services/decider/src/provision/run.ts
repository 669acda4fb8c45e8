// provision-replica once the checks passed: prepare → one copy per source → attach, each
// phase published on `op.<opId>` of the target's cluster. A failure leaves the target
// read-only, its new connections stopped and in maintenance (the flag an operator sees),
// and the final event says what was done; running the command again with overwrite: true
// starts clean (the first copy wipes the target).
import {
  AgentProgressMessage,
  type AgentResult,
  AgentResultMessage,
  type ErrorBody,
  errorBody,
  type OperationEvent,
  type OperationState,
  parseMessage,
  subjects,
} from "@marina/contracts";
import {
  connectionFor,
  type ProvisionPhase,
  type ProvisionPlanInput,
  type ProvisionSource,
  persistFiltersCall,
  provisionAttach,
  provisionCopy,
  provisionedSlavePos,
  provisionPrepare,
  type SourcePosition,
} from "@marina/decider-core";
import {
  callAgent,
  execThrough,
  keptInMaintenance,
  mustSucceed,
  notInMaintenance,
  type ProvisionDeps,
  ProvisionFailure,
  publishOperation,
  setMaintenance,
} from "./context.js";

type Bytes = OperationEvent["progress"];
export type Publish = (
  state: OperationState,
  message: string,
  error?: ErrorBody | null,
  progress?: Bytes,
) => void;

export interface Progress {
  phase: string;
  done: string[];
  timings: Record<string, number>;
  positions: SourcePosition[];
  /** The keys of the steps that succeeded (runSteps), when kept. */
  steps?: string[];
}

export interface ProvisionRun {
  opId: string;
  plan: ProvisionPlanInput;
  sources: ProvisionSource[];
  reason: string;
  startedAt: number;
}

export async function runProvision(d: ProvisionDeps, run: ProvisionRun): Promise<void> {
  const { plan } = run;
  const pr: Progress = { phase: "prepare", done: [], timings: {}, positions: [] };
  const publish = publisherFor(d, run, pr);
  const clusters = [...new Set([plan.home, ...plan.sources.map((s) => s.cluster)])];
  // The clusters where the operator had put the target in maintenance stay so.
  const mine = notInMaintenance(d, clusters, plan.target);
  try {
    await setMaintenance(d, mine, plan.target, true, `provision-replica ${run.opId}`);
    pr.done.push(`${plan.target} in maintenance in ${clusters.join(", ")}`);
    await timed(pr, "prepare", () => runSteps(d, run, provisionPrepare(plan), publish));
    pr.done.push(`${plan.target} read_only`);
    for (let i = 0; i < plan.sources.length; i++) {
      const s = plan.sources[i]!;
      pr.phase = `copy:${s.cluster}`;
      await timed(pr, pr.phase, () => copyOne(d, run, i, pr, publish));
    }
    pr.phase = "attach";
    checkPrimariesKept(d, plan);
    const pos = provisionedSlavePos(pr.positions);
    await timed(pr, "attach", () => runSteps(d, run, provisionAttach(plan, pos), publish, pr));
    pr.done.push(`attached at ${pos}`);
    await setMaintenance(d, mine, plan.target, false, `provision-replica ${run.opId} done`);
    pr.done.push(...keptInMaintenance(clusters, mine, plan.target));
    publish(
      "succeeded",
      `${plan.target} provisioned at ${pos}: ${plan.sources.map((s) => `'${connectionFor(s.cluster)}' from ${s.primary} (${s.databases.join(", ")})`).join(", ")} replicating${pr.done
        .filter((x) => x.startsWith("filters of") || x.includes("left in maintenance"))
        .map((x) => `; ${x}`)
        .join("")}`,
    );
  } catch (err) {
    const body =
      err instanceof ProvisionFailure ? err.body : errorBody("INTERNAL", (err as Error).message);
    await leaveFlagged(d, run);
    publish(
      "failed",
      `failed at ${pr.phase}: ${body.message}; done: ${pr.done.join("; ") || "nothing"}. ${plan.target} is left read_only, its replication connections stopped, in maintenance: run provision-replica again with overwrite: true to start clean`.slice(
        0,
        4096,
      ),
      body,
    );
  }
}

/** A source cluster that failed over during the copies: attaching would follow a dead server. */
export function checkPrimariesKept(d: ProvisionDeps, plan: ProvisionPlanInput): void {
  for (const s of plan.sources) {
    const now = d.cluster(s.cluster)?.primary() ?? null;
    if (now !== s.primary) {
      throw new ProvisionFailure(
        errorBody(
          "NOT_APPLICABLE",
          `the primary of ${s.cluster} changed from ${s.primary} to ${now ?? "none"} during the copies`,
        ),
      );
    }
  }
}

export async function timed<T>(pr: Progress, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    pr.timings[name] = Math.round(performance.now() - t0);
  }
}

/**
 * A phase's SQL steps in order (each must succeed), then its agent calls (persisting the
 * filters): a call that fails is noted in `pr.done`, not a failure — the replica
 * replicates; only a restart would lose the filters. Returns each step's data by key.
 */
export async function runSteps(
  d: ProvisionDeps,
  run: ProvisionRun,
  ph: ProvisionPhase,
  publish: Publish,
  pr?: Progress,
): Promise<Map<string, Record<string, unknown>>> {
  publish("running", ph.message);
  const data = new Map<string, Record<string, unknown>>();
  for (const s of ph.steps) {
    const r = await execThrough(d, run.opId, s.cluster, s.server, s.step);
    data.set(s.key, mustSucceed(r, `${ph.name}/${s.key} on ${s.server}`).data);
    pr?.steps?.push(s.key);
  }
  for (const c of ph.calls) {
    const said = await persistFilters(d, `${run.opId}-${c.key}`, run.plan.home, c.host, c.server);
    pr?.done.push(said);
  }
  return data;
}

/**
 * The server's replication filters written to its option file by its agent (fenced by
 * `cluster`, the one the agent files it under). Never a failure: the replica replicates;
 * only a restart would lose them. Returns what to tell the operator.
 */
export async function persistFilters(
  d: ProvisionDeps,
  callId: string,
  cluster: string,
  host: string,
  server: string,
): Promise<string> {
  const c = persistFiltersCall(host, server);
  const r = await callAgent(d, cluster, c.host, callId, c.action, 30_000);
  if (r.ok) return `filters of ${server} written to ${String(r.data.file)}`;
  d.log.warn({ error: r.error, server }, "filters not persisted");
  return `filters of ${server} NOT persisted (${r.error?.message ?? "failed"})`;
}

/** Source i's dump into the target: the target listens, the donor sends, both finish. */
export async function copyOne(
  d: ProvisionDeps,
  run: ProvisionRun,
  i: number,
  pr: Progress,
  publish: Publish,
): Promise<void> {
  const { plan } = run;
  const s = plan.sources[i]!;
  const recvId = `${run.opId}-r${i}`;
  const sendId = `${run.opId}-s${i}`;
  const draft = provisionCopy(plan, i, { address: "127.0.0.1", port: 1 });
  const recvCall = draft.calls[0]!;
  publish("running", `${draft.message}: ${plan.targetHost} listening`);
  const finals = awaitFinals(d, [
    { host: recvCall.host, opId: recvId },
    { host: s.host, opId: sendId },
  ]);
  // The donor's byte counts, as the operation's progress (at most one event a second).
  let lastProgress = 0;
  const progress = d.bus.subscribe(subjects.agentProgress(s.host), (m) => {
    const parsed = parseMessage(AgentProgressMessage, m.data);
    if (!parsed.ok || parsed.value.payload.opId !== sendId) return;
    const p = parsed.value.payload;
    if (d.now() - lastProgress < 1000) return;
    lastProgress = d.now();
    publish("running", `copy:${s.cluster}: ${(p.bytes / 1048576).toFixed(1)} MB streamed`, null, {
      bytes: p.bytes,
      totalBytes: p.totalBytes,
      bytesPerSecond: p.bytesPerSecond,
      etaMs: p.etaMs,
    });
  });
  try {
    const accepted = mustSucceed(
      await callAgent(d, plan.home, recvCall.host, recvId, recvCall.action, 330_000),
      `receive on ${plan.targetHost}`,
    );
    const address = accepted.data.address;
    const port = accepted.data.port;
    if (typeof address !== "string" || typeof port !== "number") {
      throw new ProvisionFailure(
        errorBody("INTERNAL", `${plan.targetHost} accepted without an address and port`),
      );
    }
    const sendCall = provisionCopy(plan, i, { address, port }).calls[1]!;
    publish("running", `${draft.message}: ${s.host} streams to ${address}:${port}`);
    mustSucceed(
      await callAgent(d, s.cluster, s.host, sendId, sendCall.action, 60_000),
      `send from ${s.host}`,
    );
    const [recv, send] = await finals.wait(d.copyTimeoutMs ?? 3600_000);
    mustSucceed(send!, `dump of ${s.primary}`);
    mustSucceed(recv!, `load into ${plan.target}`);
    const gtid = recv!.data.gtid;
    if (typeof gtid !== "string" || gtid.trim() === "") {
      throw new ProvisionFailure(
        errorBody("TOOL_FAILED", `the dump of ${s.primary} was loaded without its position`),
      );
    }
    const facts = run.sources[i]!.facts!;
    pr.positions.push({ cluster: s.cluster, domainId: facts.gtidDomainId, gtid: gtid.trim() });
    const bytes = typeof recv!.data.bytes === "number" ? recv!.data.bytes : 0;
    pr.done.push(`${s.databases.join(", ")} of ${s.cluster} loaded at ${gtid.trim()}`);
    publish(
      "running",
      `copy:${s.cluster} done: ${s.databases.join(", ")} from ${s.primary}, ${(bytes / 1048576).toFixed(1)} MB, at ${gtid.trim()}`,
    );
  } catch (err) {
    // A receiver left listening (or loading) would hold its port and the target: stop it.
    const cancel = await callAgent(
      d,
      plan.home,
      recvCall.host,
      `${recvId}-x`,
      {
        action: "cancel",
        opId: recvId,
      },
      10_000,
    );
    if (!cancel.ok) d.log.debug({ error: cancel.error }, "receive not cancelled");
    throw err;
  } finally {
    finals.close();
    progress.unsubscribe();
  }
}

/** Final results of long agent calls, from their hosts' `.done` subjects. */
function awaitFinals(d: ProvisionDeps, calls: { host: string; opId: string }[]) {
  const got = new Map<string, AgentResult>();
  let wake: (() => void) | undefined;
  const subs = [...new Set(calls.map((c) => c.host))].map((host) =>
    d.bus.subscribe(subjects.agentDone(host), (m) => {
      const parsed = parseMessage(AgentResultMessage, m.data);
      if (!parsed.ok) return;
      const r = parsed.value.payload;
      if (calls.some((c) => c.opId === r.opId && c.host === r.host)) {
        got.set(r.opId, r);
        wake?.();
      }
    }),
  );
  return {
    async wait(timeoutMs: number): Promise<AgentResult[]> {
      const deadline = d.now() + timeoutMs;
      // A failed one ends the wait: its partner may never finish on its own.
      while (got.size < calls.length && ![...got.values()].some((r) => !r.ok)) {
        const left = deadline - d.now();
        if (left <= 0) {
          throw new ProvisionFailure(errorBody("TIMEOUT", `copy not done within ${timeoutMs} ms`));
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 1000));
        });
      }
      return calls.map(
        (c) =>
          got.get(c.opId) ?? {
            host: c.host,
            opId: c.opId,
            ok: false,
            durationMs: 0,
            data: {},
            error: errorBody("CANCELLED", "its partner in the copy failed"),
          },
      );
    },
    close() {
      for (const s of subs) s.unsubscribe();
    },
  };
}

/** After a failure: read-only, every connection provisioning makes stopped. Best effort. */
export async function leaveFlagged(d: ProvisionDeps, run: ProvisionRun): Promise<void> {
  const { plan } = run;
  const ro = await execThrough(d, run.opId, plan.home, plan.target, {
    kind: "set-read-only",
    readOnly: true,
  });
  if (!ro.ok) d.log.warn({ error: ro.error }, "target not set read-only after a failure");
  for (const s of plan.sources) {
    const r = await execThrough(d, run.opId, s.cluster, plan.target, {
      kind: "stop-replication",
      connection: connectionFor(s.cluster),
    });
    if (!r.ok) d.log.warn({ error: r.error, cluster: s.cluster }, "connection not stopped");
  }
}

/** Publishes the run's events on op.<opId> of the target's cluster. */
export function publisherFor(d: ProvisionDeps, run: ProvisionRun, pr: Progress): Publish {
  return (state, message, error = null, progress = null) =>
    publishEvent(d, run, pr, state, message, error, progress);
}

function publishEvent(
  d: ProvisionDeps,
  run: ProvisionRun,
  pr: Progress,
  state: OperationState,
  message: string,
  error: ErrorBody | null,
  progress: Bytes,
): void {
  const { plan } = run;
  publishOperation(d, {
    cluster: plan.home,
    opId: run.opId,
    kind: "provision",
    state,
    phase: pr.phase,
    servers: {
      target: plan.target,
      ...Object.fromEntries(plan.sources.map((s) => [`source-${s.cluster}`, s.primary])),
    },
    message,
    progress,
    startedAt: run.startedAt,
    error,
    timings: pr.timings,
  });
}
