// provision-replica mode add / remove once the checks passed. add: the source's copy is
// loaded beside the running connections (its position read from the dump's comment), then
// attach:<cluster> puts its own domains into gtid_slave_pos while the other connections'
// SQL threads pause, and makes, starts and verifies its connection. remove: detach:<cluster>.
// Each published on op.<opId> of the target's cluster, like provisioning.
import { errorBody, type ProvisionFacts } from "@marina/contracts";
import { domainsOf, parseGtidList } from "@marina/contracts/gtid";
import {
  addedSourceDomains,
  addSourceAttach,
  connectionFor,
  type ProvisionSource,
  type RemoveSourcePlanInput,
  removeSourceDetach,
  restartSourcePhase,
  restrictToDomains,
  takenDomains,
} from "@marina/decider-core";
import { attachedDomains } from "./change-check.js";
import {
  execThrough,
  keptInMaintenance,
  notInMaintenance,
  type ProvisionDeps,
  ProvisionFailure,
  setMaintenance,
} from "./context.js";
import {
  checkPrimariesKept,
  copyOne,
  leaveFlagged,
  type Progress,
  type ProvisionRun,
  publisherFor,
  runSteps,
  timed,
} from "./run.js";

export interface AddRun extends ProvisionRun {
  attached: ProvisionSource[];
  /** The target as the check read it: its gtid_slave_pos, which SQL threads ran. */
  targetFacts: ProvisionFacts;
  clusters: string[];
}

const failureBody = (err: unknown) =>
  err instanceof ProvisionFailure ? err.body : errorBody("INTERNAL", (err as Error).message);

export async function runAddSource(d: ProvisionDeps, run: AddRun): Promise<void> {
  const { plan } = run;
  const s = plan.sources[0]!;
  const pr: Progress = { phase: `copy:${s.cluster}`, done: [], timings: {}, positions: [] };
  const publish = publisherFor(d, run, pr);
  // Whether the copy began (a failure before it loaded nothing, so drops nothing).
  let copying = false;
  // The clusters where the operator had put the target in maintenance stay so.
  const mine = notInMaintenance(d, run.clusters, plan.target);
  try {
    await setMaintenance(d, mine, plan.target, true, `add-source ${run.opId}`);
    pr.done.push(`${plan.target} in maintenance in ${run.clusters.join(", ")}`);
    copying = true;
    await timed(pr, pr.phase, () => copyOne(d, run, 0, pr, publish));
    pr.phase = `attach:${s.cluster}`;
    checkPrimariesKept(d, plan);
    const dumped = pr.positions[0]!;
    // Its own domains: its gtid_domain_id, and domains of its past no attached source writes
    // and the target has from nowhere else (the check refused a source sharing one; one that
    // came into its binlog since is kept as the target has it, and said so).
    const taken = takenDomains(run);
    const own = addedSourceDomains(attachedDomains(run.attached), taken, dumped);
    const kept = domainsOf(parseGtidList(dumped.gtid)).filter(
      (x) => !own.includes(x) && taken.includes(x) && !attachedDomains(run.attached).includes(x),
    );
    if (kept.length > 0) {
      pr.done.push(
        `domains ${kept.join(", ")} of the dump's position (${dumped.gtid}) kept as ${plan.target} had them: another stream has them too — check that '${connectionFor(s.cluster)}' neither replays nor skips them`,
      );
    }
    const pos = restrictToDomains(dumped.gtid, own);
    const data = await timed(pr, pr.phase, () =>
      runSteps(d, run, addSourceAttach(plan, own, pos), publish, pr),
    );
    const pausedMs = Number(data.get("pos")?.pausedMs ?? Number.NaN);
    const paused = Number.isFinite(pausedMs) ? `${pausedMs} ms` : "(how long not reported)";
    const restarted = (data.get("pos")?.restarted as string[] | undefined) ?? [];
    pr.done.push(`'${connectionFor(s.cluster)}' attached at ${pos}`);
    await setMaintenance(d, mine, plan.target, false, `add-source ${run.opId} done`);
    pr.done.push(...keptInMaintenance(run.clusters, mine, plan.target));
    publish(
      "succeeded",
      `${plan.target}: '${connectionFor(s.cluster)}' from ${s.primary} (${s.databases.join(", ")}) replicating from ${pos}; the SQL threads of ${restarted.map((c) => `'${c}'`).join(", ") || "no other connection"} were paused ${paused} for gtid_slave_pos. ${pr.done.slice(1).join("; ")}`,
    );
  } catch (err) {
    const body = failureBody(err);
    // Only the new connection is stopped. The copy touches no other connection; the attach
    // pauses their SQL threads, so after it those that ran before are started again.
    await leaveFlagged(d, run);
    const copyPhase = pr.phase.startsWith("copy:");
    const others = copyPhase ? "the other connections untouched" : await restartOthers(d, run);
    const next = !copyPhase
      ? `remove the source (mode remove, dropDatabases) and add it again`
      : copying
        ? await dropPartialCopy(d, run, mine)
        : `nothing was copied: clear maintenance on ${plan.target} in ${mine.join(", ")} (marina maintenance clear) and add the source again`;
    publish(
      "failed",
      `failed at ${pr.phase}: ${body.message}; done: ${pr.done.join("; ") || "nothing"}. ${plan.target} is left read_only and in maintenance (${others}): ${next}`.slice(
        0,
        4096,
      ),
      body,
    );
  }
}

/**
 * After a failure past the copy: START SLAVE for every other connection whose SQL thread ran
 * when the check read the target (a no-op for one running; the attach paused them), each
 * tried. Returns what runs, and what does not, for the final event.
 */
export async function restartOthers(d: ProvisionDeps, run: AddRun): Promise<string> {
  const mine = connectionFor(run.plan.sources[0]!.cluster);
  const before = run.targetFacts.connections
    .filter((c) => c.name !== mine && (c.sqlRunning ?? c.running))
    .map((c) => c.name);
  if (before.length === 0) return "no other connection ran before";
  const running: string[] = [];
  const not: string[] = [];
  for (const c of before) {
    const r = await execThrough(d, run.opId, run.plan.home, run.plan.target, {
      kind: "start-replication",
      connection: c,
    });
    if (r.ok) running.push(`'${c}'`);
    else not.push(`'${c}' (${r.error?.message ?? "failed"})`);
  }
  if (not.length === 0) return `the other connections ${running.join(", ")} running`;
  return `NOT running: ${not.join(", ")} — START SLAVE '<c>' on ${run.plan.target} by hand${running.length > 0 ? `; ${running.join(", ")} running` : ""}`;
}

/**
 * A copy that failed may have loaded part of the source's databases. None of them was on
 * the target before (a check of the add), so they are dropped (not binlogged; best effort:
 * the executor's account needs DROP and BINLOG ADMIN). Returns what the operator does next.
 */
async function dropPartialCopy(
  d: ProvisionDeps,
  run: AddRun,
  mine: readonly string[],
): Promise<string> {
  const { plan } = run;
  const s = plan.sources[0]!;
  const r = await execThrough(d, run.opId, plan.home, plan.target, {
    kind: "drop-databases",
    databases: s.databases,
  });
  const then = `clear maintenance on ${plan.target} in ${mine.join(", ")} (marina maintenance clear) and add the source again`;
  if (r.ok) return `${s.databases.join(", ")} (partly loaded) dropped; ${then}`;
  d.log.warn({ error: r.error }, "partly loaded databases not dropped");
  return `${s.databases.join(", ")} may be partly loaded and could not be dropped (${r.error?.message ?? "failed"}): drop them by hand, then ${then}`;
}

export interface RemoveRun {
  opId: string;
  plan: RemoveSourcePlanInput;
  /** restart: the connection stopped and started only (plan.domains and drop are empty). */
  restart?: boolean;
  notes: string[];
  clusters: string[];
  reason: string;
  startedAt: number;
}

export async function runRemoveSource(d: ProvisionDeps, r: RemoveRun): Promise<void> {
  const { plan } = r;
  // The event shape of provisioning: a plan with the target and the source's cluster.
  const run: ProvisionRun = {
    opId: r.opId,
    reason: r.reason,
    startedAt: r.startedAt,
    sources: [],
    plan: {
      target: plan.target,
      home: plan.home,
      targetHost: plan.targetHost,
      sources: [],
      compression: { kind: "none" },
      verifyTimeoutMs: 0,
    },
  };
  const pr: Progress = {
    phase: `detach:${plan.cluster}`,
    done: [],
    timings: {},
    positions: [],
    steps: [],
  };
  const publish = publisherFor(d, run, pr);
  const mine = notInMaintenance(d, r.clusters, plan.target);
  try {
    await setMaintenance(d, mine, plan.target, true, `remove-source ${r.opId}`);
    const phase = r.restart ? restartSourcePhase(plan, 30_000) : removeSourceDetach(plan);
    pr.phase = phase.name;
    await timed(pr, pr.phase, () => runSteps(d, run, phase, publish, pr));
    await setMaintenance(d, mine, plan.target, false, `${phase.name} ${r.opId} done`);
    pr.done.push(...keptInMaintenance(r.clusters, mine, plan.target));
    if (r.restart) {
      publish(
        "succeeded",
        `${plan.target}: '${connectionFor(plan.cluster)}' restarted and replicating; the other connections untouched. ${pr.done.join("; ")}`,
      );
      return;
    }
    publish(
      "succeeded",
      `${plan.target}: '${connectionFor(plan.cluster)}' removed${plan.domains.length > 0 ? `, domains ${plan.domains.join(", ")} out of gtid_slave_pos` : ""}${plan.drop.length > 0 ? `, ${plan.drop.join(", ")} dropped` : ""}; the other connections untouched. ${[...r.notes, ...pr.done].join("; ")}`,
    );
  } catch (err) {
    const body = failureBody(err);
    publish(
      "failed",
      `failed at ${pr.phase}: ${body.message}; ${plan.target} is left in maintenance: ${removeLeft(r, pr.steps ?? [], mine)}`,
      body,
    );
  }
}

/**
 * What to do after a remove or restart failed. Until RESET SLAVE ran, a re-run does it all
 * again (each step is idempotent); after it, a re-run is refused (no connection left), so
 * what is left is said step by step.
 */
export function removeLeft(r: RemoveRun, done: readonly string[], mine: readonly string[]): string {
  const { plan } = r;
  if (r.restart) {
    return "run it again (each step is idempotent), or re-provision that source (remove, then add)";
  }
  if (!done.includes(`reset-${plan.cluster}`)) return "run it again (each step is idempotent)";
  const left: string[] = [];
  if (plan.domains.length > 0 && !done.includes("pos")) {
    left.push(
      `take domains ${plan.domains.join(", ")} out of its gtid_slave_pos (every SQL thread stopped, SET GLOBAL gtid_slave_pos without them, the same started again)`,
    );
  }
  if (plan.drop.length > 0 && !done.includes("drop")) {
    left.push(`drop ${plan.drop.join(", ")} (with sql_log_bin=0)`);
  }
  left.push(`clear maintenance on ${plan.target} in ${mine.join(", ")} (marina maintenance clear)`);
  return `'${connectionFor(plan.cluster)}' is removed already (RESET SLAVE ran), so a re-run would be refused: by hand, ${left.join("; ")}`;
}
