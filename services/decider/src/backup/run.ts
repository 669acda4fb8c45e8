// A backup and a restore once their checks passed, each published on `op.<opId>` of the
// server's cluster. The server is in maintenance meanwhile in every cluster that lists it
// (and, for a restore, every cluster a connection follows) — unless it already was, which is
// then left as it was. Before the maintenance is cleared, each connection is checked against
// its source cluster's primary now (re-pointed if that moved). A restore that failed before
// the agent stopped the server releases its maintenance and changes nothing; one that failed
// later leaves it read-only (if it runs), its connections stopped, in maintenance, and the
// final event says how, from the agent's last phase.
import {
  type AgentAction,
  type BackupConnection,
  BackupManifest,
  type ErrorBody,
  errorBody,
  type OperationEvent,
} from "@marina/contracts";
import {
  checkRestore,
  type RestoreInput,
  repointPlan,
  restoreAttach,
  restoreDatadir,
} from "@marina/decider-core";
import {
  callAgent,
  execThrough,
  mustSucceed,
  type ProvisionDeps,
  ProvisionFailure,
  publishOperation,
  setMaintenance,
} from "../provision/context.js";
import { persistFilters } from "../provision/run.js";

const MB = 1048576;

/** What an agent's backup or restore may take: the request carries it, the agent keeps to it. */
export const agentLimitMs = (d: ProvisionDeps) => d.copyTimeoutMs ?? 6 * 3600_000;
/**
 * The wait for the agent's answer beyond that limit: its last phase's own bounded end (the SQL
 * threads' restart retries, read_only after start) and the reply's way back.
 */
export const REPLY_MARGIN_MS = 120_000;

interface Run {
  opId: string;
  home: string;
  server: string;
  kind: OperationEvent["kind"];
  startedAt: number;
  phase: string;
  done: string[];
  timings: Record<string, number>;
}

function publisher(d: ProvisionDeps, run: Run) {
  return (state: OperationEvent["state"], message: string, error: ErrorBody | null = null) =>
    publishOperation(d, {
      cluster: run.home,
      opId: run.opId,
      kind: run.kind,
      state,
      phase: run.phase,
      servers: { target: run.server },
      message,
      startedAt: run.startedAt,
      error,
      timings: run.timings,
    });
}

/**
 * The maintenance reasons (`<kind> <opId>`) an earlier run left that this kind's success
 * clears: a restore's, a backup's or a restore's; a backup's, only a backup's (a failed
 * restore's flag stays until a restore succeeds).
 */
const CLEARS = {
  restore: /^(backup|restore) [A-Za-z0-9_-]+$/,
  backup: /^backup [A-Za-z0-9_-]+$/,
} as const;

/**
 * Maintenance on where it is not on already; returns the clusters whose maintenance this
 * run's success clears (`all`: those it set, and those an earlier run left that CLEARS
 * names — a failed restore keeps the server in maintenance until one succeeds), and those it
 * set (`mine`, all a failure releases). An operator's is left alone.
 */
async function holdInMaintenance(d: ProvisionDeps, run: Run, clusters: string[]) {
  const reasons = new Map(clusters.map((c) => [c, d.cluster(c)?.maintenance(run.server) ?? null]));
  const mine = clusters.filter((c) => reasons.get(c) === null);
  const clears = run.kind === "restore" ? CLEARS.restore : CLEARS.backup;
  const left = clusters.filter((c) => clears.test(reasons.get(c) ?? ""));
  const set: string[] = [];
  try {
    for (const c of mine) {
      await setMaintenance(d, [c], run.server, true, `${run.kind} ${run.opId}`);
      set.push(c);
    }
  } catch (err) {
    // Part-way: what this run set is released, nothing else was touched.
    await setMaintenance(d, set, run.server, false, `${run.kind} ${run.opId} not started`);
    throw err;
  }
  if (mine.length > 0) run.done.push(`${run.server} in maintenance in ${mine.join(", ")}`);
  // A failure releases only `mine`: an earlier run's flag stays.
  return { all: [...mine, ...left], mine };
}

async function timed<T>(run: Run, phase: string, fn: () => Promise<T>): Promise<T> {
  run.phase = phase;
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    run.timings[phase] = Math.round(performance.now() - t0);
  }
}

const failure = (err: unknown) =>
  err instanceof ProvisionFailure ? err.body : errorBody("INTERNAL", (err as Error).message);

export interface BackupRun {
  opId: string;
  home: string;
  server: string;
  host: string;
  clusters: string[];
  action: Extract<AgentAction, { action: "take-backup" }>;
}

export async function runBackup(d: ProvisionDeps, b: BackupRun): Promise<void> {
  const run: Run = {
    opId: b.opId,
    home: b.home,
    server: b.server,
    kind: "backup",
    startedAt: d.now(),
    phase: "backup",
    done: [],
    timings: {},
  };
  const publish = publisher(d, run);
  let held: string[] = [];
  let mine: string[] = [];
  try {
    ({ all: held, mine } = await holdInMaintenance(d, run, b.clusters));
    publish("running", `${b.server}: SQL threads stopped, mariadb-backup running on ${b.host}`);
    const r = await timed(run, "backup", async () =>
      mustSucceed(
        await callAgent(
          d,
          b.home,
          b.host,
          `${b.opId}-b`,
          b.action,
          b.action.limitMs + REPLY_MARGIN_MS,
        ),
        `backup on ${b.host}`,
      ),
    );
    const m = BackupManifest.parse(r.data.manifest);
    const links = m.connections
      .map(
        (c) =>
          `'${c.name}' (${c.cluster ?? "no cluster"}${c.wildDoTables.length > 0 ? `, ${c.wildDoTables.join(",")}` : ""})`,
      )
      .join(", ");
    try {
      await timed(run, "repoint", () => repoint(d, run, m.connections));
    } catch (err) {
      // The backup is kept; the server's connections are not where its clusters are now.
      const f = failure(err);
      publish(
        "failed",
        `backup ${m.id} of ${b.server} was kept, but ${f.message}. ${b.server} stays in maintenance${held.length > 0 ? ` in ${held.join(", ")}` : ""}: point the connection at its cluster's primary, then clear the maintenance`,
        f,
      );
      return;
    }
    await setMaintenance(d, held, b.server, false, `backup ${b.opId} done`);
    publish(
      "succeeded",
      `backup ${m.id} of ${b.server}: ${(m.bytes / MB).toFixed(1)} MB at ${m.gtidSlavePos || "(empty)"}; connections ${links || "none"}; SQL threads stopped for it and started again: ${JSON.stringify(r.data.sqlThreadsRestarted ?? [])}`,
    );
  } catch (err) {
    const f = failure(err);
    if (f.code === "REPLICATION_STOPPED") {
      // SQL threads still stopped: the server stays in maintenance until they run again.
      publish(
        "failed",
        `backup of ${b.server} failed: ${f.message}. ${b.server} stays in maintenance${held.length > 0 ? ` in ${held.join(", ")}` : ""}: clear it once its SQL threads run again`,
        f,
      );
      return;
    }
    await setMaintenance(d, mine, b.server, false, `backup ${b.opId} failed`);
    publish("failed", `backup of ${b.server} failed: ${f.message}`, f);
  }
}

/** How long a re-point waits for a source cluster's own operation (a failover) to end. */
export const QUIET_WAIT_MS = 30_000;

/** Resolves once none of `clusters` runs an operation of its core; fails after `ms`. */
async function quiet(d: ProvisionDeps, clusters: readonly string[], ms = QUIET_WAIT_MS) {
  const end = d.now() + ms;
  for (;;) {
    const busy = clusters.filter((c) => d.cluster(c)?.operation());
    if (busy.length === 0) return;
    if (d.now() >= end) {
      throw new ProvisionFailure(
        errorBody(
          "OPERATION_IN_PROGRESS",
          `${busy.join(", ")} still ran an operation after ${ms} ms: the connections were not checked against their primaries`,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Before the maintenance is cleared: each connection following a cluster is pointed at that
 * cluster's primary now (a failover meanwhile skipped the server, in maintenance), its
 * filter set again, started and verified; a no-op where nothing moved. Throws on a problem.
 */
async function repoint(d: ProvisionDeps, run: Run, connections: readonly BackupConnection[]) {
  const clusters = [...new Set(connections.flatMap((c) => (c.cluster ? [c.cluster] : [])))];
  await quiet(d, clusters);
  const plan = repointPlan(run.server, connections, primariesNow(d, clusters), 30_000);
  if (plan.problems.length > 0) {
    throw new ProvisionFailure(errorBody("NOT_APPLICABLE", plan.problems.join("; ")));
  }
  for (const x of plan.repoints) {
    const r = mustSucceed(
      await execThrough(d, run.opId, x.cluster, run.server, x.change.step),
      `repoint/${x.change.key} on ${run.server}`,
    );
    if (r.data.changed !== true) continue;
    for (const s of x.after) {
      mustSucceed(
        await execThrough(d, run.opId, s.cluster, s.server, s.step),
        `repoint/${s.key} on ${run.server}`,
      );
    }
    run.done.push(`'${x.connection}' re-pointed to ${x.cluster}'s primary now`);
  }
}

/** Each cluster's primary as this decider knows it now (null: none known). */
export function primariesNow(d: ProvisionDeps, clusters: readonly string[]) {
  return Object.fromEntries(clusters.map((c) => [c, d.cluster(c)?.primary() ?? null]));
}

/** The input again with the primaries now: a cluster may have failed over meanwhile. */
function inputNow(d: ProvisionDeps, p: RestoreInput): RestoreInput {
  return {
    ...p,
    clusters: Object.fromEntries(
      Object.entries(p.clusters).map(([c, k]) => [
        c,
        { ...k, primary: d.cluster(c)?.primary() ?? null },
      ]),
    ),
    primaries: primariesNow(d, Object.keys(p.primaries)),
  };
}

export interface RestoreRun {
  opId: string;
  input: RestoreInput;
  clusters: string[];
  reason: string;
  startedAt: number;
}

/** The agent's restore phases after which the server is no longer as it was. */
const TOUCHING = new Set(["stop", "empty", "copy", "prepare", "chown", "start"]);

/** How a server whose restore failed at the agent's `phase` is left, when not read-only. */
function leftAfter(phase: string): string {
  if (phase === "stop") return "perhaps stopped (the agent failed while stopping it)";
  if (phase === "start") return "restored but not started, or not read-only";
  if (phase === "unknown") return "as the agent left it (no answer from it within its limit)";
  return "stopped (its datadir marked as an unfinished restore: start-server refuses it)";
}

export async function runRestore(d: ProvisionDeps, r: RestoreRun): Promise<void> {
  const p = r.input;
  const run: Run = {
    opId: r.opId,
    home: p.home,
    server: p.server,
    kind: "restore",
    startedAt: r.startedAt,
    phase: "restore",
    done: [],
    timings: {},
  };
  const publish = publisher(d, run);
  // Where the agent got to: "none" (not asked), one of its phases, "done", or "unknown".
  let agentPhase = "none";
  let held: string[] = [];
  let mine: string[] = [];
  try {
    ({ all: held, mine } = await holdInMaintenance(d, run, r.clusters));
    // Checked again right before the agent stops anything: a failover since the intake may
    // have made the server a primary.
    const before = checkRestore(inputNow(d, p));
    if (before.length > 0) {
      throw new ProvisionFailure(
        errorBody("RESTORE_CHECK_FAILED", before.map((x) => x.message).join("; ")),
      );
    }
    const ph = restoreDatadir(p);
    const call = ph.calls[0]!;
    publish("running", ph.message);
    await timed(run, "restore", async () => {
      const res = await callAgent(
        d,
        p.home,
        call.host,
        `${r.opId}-r`,
        call.action,
        p.limitMs + REPLY_MARGIN_MS,
      );
      agentPhase = res.ok
        ? "done"
        : typeof res.data.phase === "string"
          ? res.data.phase
          : "unknown";
      return mustSucceed(res, `restore on ${call.host}`);
    });
    run.done.push(`datadir restored from ${p.manifest.id}, read_only=1`);
    // The primaries now: a source cluster may have failed over during the restore.
    const now = inputNow(d, p);
    const problems = checkRestore(now);
    if (problems.length > 0) {
      throw new ProvisionFailure(
        errorBody(
          "RESTORE_INCOMPLETE",
          `the datadir was replaced, then: ${problems.map((x) => x.message).join("; ")}`,
        ),
      );
    }
    const attach = restoreAttach(now);
    // Not while a source cluster runs an operation of its own (a failover moving its primary).
    await quiet(d, Object.keys(p.clusters));
    await timed(run, "attach", async () => {
      publish("running", attach.message);
      for (const s of attach.steps) {
        mustSucceed(
          await execThrough(d, r.opId, s.cluster, s.server, s.step),
          `attach/${s.key} on ${s.server}`,
        );
      }
    });
    run.done.push("attached");
    await timed(run, "repoint", () => repoint(d, run, p.manifest.connections));
    // The filters set again are written to its option file too (a restart keeps them).
    const filters = await persistFilters(d, `${r.opId}-f`, p.home, call.host, p.server);
    await setMaintenance(d, held, p.server, false, `restore ${r.opId} done`);
    publish(
      "succeeded",
      `${p.server} restored from ${p.manifest.id}: ${attach.message}; ${filters}`,
    );
  } catch (err) {
    const f = failure(err);
    const touched = TOUCHING.has(agentPhase) || agentPhase === "done" || agentPhase === "unknown";
    if (!touched) {
      // The agent never stopped the server: replication is left as it was, this run's
      // maintenance released.
      await setMaintenance(d, mine, p.server, false, `restore ${r.opId} failed`);
      publish(
        "failed",
        `failed at ${run.phase}${agentPhase !== "none" ? ` (the agent at ${agentPhase})` : ""}: ${f.message}; ${p.server} was not changed`,
        f,
      );
      return;
    }
    const readOnly = await leaveFlagged(d, r);
    const left = readOnly
      ? "read_only, its replication connections stopped"
      : leftAfter(agentPhase === "done" ? "start" : agentPhase);
    publish(
      "failed",
      `failed at ${run.phase}${agentPhase !== "done" ? ` (the agent at ${agentPhase})` : ""}: ${f.message}; done: ${run.done.join("; ") || "nothing"}. ${p.server} is left ${left}, in maintenance: fix the cause and run restore-backup again`,
      f,
    );
  }
}

/**
 * After a failure once the agent touched the server: read-only and every connection of the
 * manifest stopped (best effort). True when read_only could be set (the server runs).
 */
async function leaveFlagged(d: ProvisionDeps, r: RestoreRun): Promise<boolean> {
  const p = r.input;
  const ro = await execThrough(d, r.opId, p.home, p.server, {
    kind: "set-read-only",
    readOnly: true,
  });
  if (!ro.ok) {
    d.log.warn({ error: ro.error }, "server not set read-only after a failure");
    return false;
  }
  for (const c of p.manifest.connections) {
    const s = await execThrough(d, r.opId, p.home, p.server, {
      kind: "stop-replication",
      connection: c.name,
    });
    if (!s.ok) d.log.warn({ error: s.error, connection: c.name }, "connection not stopped");
  }
  return true;
}
