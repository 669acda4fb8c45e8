// A backup and a restore once their checks passed, each published on `op.<opId>` of the
// server's cluster. The server is in maintenance meanwhile in every cluster that lists it
// (and, for a restore, every cluster a connection follows) — unless it already was, which is
// then left as it was. A failed restore leaves it read-only, its connections stopped, in
// maintenance, and the final event says what was done.
import {
  type AgentAction,
  BackupManifest,
  type ErrorBody,
  errorBody,
  type OperationEvent,
} from "@marina/contracts";
import {
  checkRestore,
  type RestoreInput,
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

/** The maintenance reason a backup or restore sets: `<kind> <opId>`. */
const OURS = /^(backup|restore) [A-Za-z0-9_-]+$/;

/**
 * Maintenance on where it is not on already; returns the clusters whose maintenance is this
 * run's to clear: those it set, and those an earlier backup or restore left (a failed
 * restore keeps the server in maintenance until one succeeds). An operator's is left alone.
 */
async function holdInMaintenance(d: ProvisionDeps, run: Run, clusters: string[]) {
  const reasons = new Map(clusters.map((c) => [c, d.cluster(c)?.maintenance(run.server) ?? null]));
  const mine = clusters.filter((c) => reasons.get(c) === null);
  const left = clusters.filter((c) => OURS.test(reasons.get(c) ?? ""));
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
  return [...mine, ...left];
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
  try {
    held = await holdInMaintenance(d, run, b.clusters);
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
    await setMaintenance(d, held, b.server, false, `backup ${b.opId} failed`);
    publish("failed", `backup of ${b.server} failed: ${f.message}`, f);
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
  try {
    const held = await holdInMaintenance(d, run, r.clusters);
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
    await timed(run, "restore", async () =>
      mustSucceed(
        await callAgent(
          d,
          p.home,
          call.host,
          `${r.opId}-r`,
          call.action,
          p.limitMs + REPLY_MARGIN_MS,
        ),
        `restore on ${call.host}`,
      ),
    );
    run.done.push(`datadir restored from ${p.manifest.id}`);
    // The primaries now: a source cluster may have failed over during the restore.
    const now = inputNow(d, p);
    const problems = checkRestore(now);
    if (problems.length > 0) {
      throw new ProvisionFailure(
        errorBody("RESTORE_CHECK_FAILED", problems.map((x) => x.message).join("; ")),
      );
    }
    const attach = restoreAttach(now);
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
    await setMaintenance(d, held, p.server, false, `restore ${r.opId} done`);
    publish("succeeded", `${p.server} restored from ${p.manifest.id}: ${attach.message}`);
  } catch (err) {
    const left = await leaveFlagged(d, r);
    publish(
      "failed",
      `failed at ${run.phase}: ${failure(err).message}; done: ${run.done.join("; ") || "nothing"}. ${p.server} is left ${left}, in maintenance: fix the cause and run restore-backup again`,
      failure(err),
    );
  }
}

/**
 * After a failure: read-only and every connection of the manifest stopped (best effort).
 * Says how the server was left: one the agent could not restore stays stopped.
 */
async function leaveFlagged(d: ProvisionDeps, r: RestoreRun): Promise<string> {
  const p = r.input;
  const ro = await execThrough(d, r.opId, p.home, p.server, {
    kind: "set-read-only",
    readOnly: true,
  });
  if (!ro.ok) {
    d.log.warn({ error: ro.error }, "server not set read-only after a failure");
    return "stopped (its datadir marked as an unfinished restore: start-server refuses it)";
  }
  for (const c of p.manifest.connections) {
    const s = await execThrough(d, r.opId, p.home, p.server, {
      kind: "stop-replication",
      connection: c.name,
    });
    if (!s.ok) d.log.warn({ error: s.error, connection: c.name }, "connection not stopped");
  }
  return "read_only, its replication connections stopped";
}
