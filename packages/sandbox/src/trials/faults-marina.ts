// Faults on Marina's own parts, most timed by the failover they interrupt (the phases its
// operation messages show, the steps its executors beat for): the leading decider killed
// or paused, the candidate killed while promoted, an executor killed in a step, a NATS
// node killed with the primary, and a switchover while a replica lags.
import { type CommandReply, CommandReplyMessage, parseMessage, subjects } from "@marina/contracts";
import { DEFAULT_LEASE_TTL_MS } from "@marina/decider";
import { type MariaNode, sleep, waitFor } from "@marina/lab";
import type { Observed, Observer } from "../observer.js";
import type { Stack } from "../stack.js";
import type { ExecWatch } from "./exec-watch.js";
import { killAndRestart, killServer, PRIMARY_DOWN_MS, restartServer } from "./faults-hosts.js";
import { leaseHolder, streamLeader } from "./jetstream-reads.js";

export interface MarinaFaultRun {
  readonly stack: Stack;
  readonly obs: Observer;
  readonly exec: ExecWatch;
  /** The primary. */
  readonly old: MariaNode;
  readonly ms: number;
  readonly random: () => number;
}

export interface MarinaFaultOutcome {
  readonly detail: string;
  /** stop-decider: what the resumed decider did in its stale leadership's name. */
  readonly staleActs?: number;
}

/** How long a fault waits for the failover phase or step it strikes in. */
const STRIKE_WAIT_MS = 30_000;

type OperationSeen = Extract<Observed, { kind: "operation" }>;

/** The first message of a running failover that `match` accepts (or undefined in time). */
function failoverPhase(
  obs: Observer,
  match: (o: OperationSeen) => boolean,
): Promise<OperationSeen | undefined> {
  return obs
    .waitFor(
      (o): o is OperationSeen =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state === "running" &&
        match(o),
      STRIKE_WAIT_MS,
    )
    .catch(() => undefined);
}

/** Phases before the failover changes anything (the first is published as "start"). */
const EARLY_PHASES = new Set(["", "start", "fence", "inspect"]);

/** kill -9 the primary, and the leading decider once the failover is past its inspection. */
export async function killDecider(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const back = killAndRestart(r.old, PRIMARY_DOWN_MS);
  const seen = await failoverPhase(r.obs, (o) => !EARLY_PHASES.has(o.operation.phase));
  let detail = "no failover phase past inspect seen: no decider killed";
  if (seen) {
    const leader = r.stack.spawned.get(seen.source);
    leader?.child.kill("SIGKILL");
    detail = `${seen.source} (epoch ${seen.operation.epoch}) killed at phase ${seen.operation.phase}`;
  }
  await back;
  return { detail };
}

/** kill -9 the primary, then the candidate's mariadbd at the promote phase, back after ms. */
export async function killCandidate(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const back = killAndRestart(r.old, PRIMARY_DOWN_MS);
  const seen = await failoverPhase(
    r.obs,
    (o) => o.operation.phase === "promote" && o.operation.servers.candidate !== undefined,
  );
  let detail = "no promote phase seen: no candidate killed";
  if (seen) {
    const candidate = r.stack.lab.node(seen.operation.servers.candidate!);
    await killAndRestart(candidate, r.ms);
    detail = `candidate ${candidate.name} killed at promote, back after ${r.ms} ms`;
  }
  await back;
  return { detail };
}

/** kill -9 the primary, and the executor running the failover's first step past inspect. */
export async function killExecutor(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const striking = r.exec.running(
    (q) => q.step.kind !== "inspect" && q.step.kind !== "fence",
    STRIKE_WAIT_MS,
  );
  const back = killAndRestart(r.old, PRIMARY_DOWN_MS);
  const hit = await striking;
  let detail = "no executor seen in a step past inspect: none killed";
  if (hit) {
    r.stack.spawned.get(hit.executor)?.child.kill("SIGKILL");
    detail = `${hit.executor} killed in ${hit.request.step.kind} on ${hit.request.server}`;
  }
  await back;
  return { detail };
}

/**
 * The leading decider SIGSTOPped past its lease (at least TTL + 1 s), the primary healthy;
 * SIGCONT, then two TTLs in which it must not act in its old leadership's name: no
 * topology, operation or event published, no exec request sent with its old epoch.
 */
export async function stopDecider(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const { nc, spawned } = r.stack;
  const before = await waitFor(() => leaseHolder(nc), {
    timeoutMs: 10_000,
    message: "a decider holding the lease",
  });
  const leader = spawned.get(before.holder);
  if (!leader) throw new Error(`stop-decider needs deciders as processes (${before.holder})`);
  const ms = Math.max(r.ms, DEFAULT_LEASE_TTL_MS + 1_000);
  leader.child.kill("SIGSTOP");
  await sleep(ms);
  leader.child.kill("SIGCONT");
  const resumedAt = performance.now();
  const after = await leaseHolder(nc);
  await sleep(2 * DEFAULT_LEASE_TTL_MS);
  const stale = (at: number, source: string, epoch: number | null) =>
    at >= resumedAt && source === before.holder && epoch !== null && epoch <= before.epoch;
  const published = r.obs.seen.filter((o) => stale(o.at, o.source, epochOf(o))).length;
  const requested = r.exec.requests.filter((q) => stale(q.at, q.source, q.request.epoch)).length;
  const lease = after ? `${after.holder} (epoch ${after.epoch})` : "nobody";
  return {
    detail: `${before.holder} (epoch ${before.epoch}) stopped ${ms} ms; lease then with ${lease}; stale after SIGCONT: ${published} published, ${requested} exec requests`,
    staleActs: published + requested,
  };
}

/** The leader epoch a decider's publication carries (monitors' carry none). */
function epochOf(o: Observed): number | null {
  switch (o.kind) {
    case "topology":
      return o.topology.epoch;
    case "operation":
      return o.operation.epoch;
    case "event":
      return o.event.epoch;
    case "observed":
      return null;
    default: {
      const never: never = o;
      return never;
    }
  }
}

/**
 * kill -9 the primary and one nats-server at once — KV_marina_leader's leader or any node,
 * as the seed says — and the NATS node back after ms.
 */
export async function killNats(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const cluster = r.stack.lab.natsCluster;
  if (!cluster) throw new Error("kill-nats needs a NATS cluster");
  const byLeader = r.random() < 0.5;
  const drawn = cluster.nodes[Math.floor(r.random() * cluster.nodes.length)]!;
  const leaderName = byLeader ? await streamLeader(r.stack.nc, "KV_marina_leader") : undefined;
  const victim = leaderName ? cluster.node(leaderName) : drawn;
  await Promise.all([killServer(r.old), victim.kill9()]);
  const back = sleep(PRIMARY_DOWN_MS).then(() => restartServer(r.old));
  await sleep(r.ms);
  await victim.start();
  await back;
  return {
    detail: `${victim.name}${leaderName ? " (KV_marina_leader's leader)" : ""} down ${r.ms} ms`,
  };
}

/**
 * A switchover to the second server while the third lags (its SQL thread stopped for ms,
 * from a second before the request): resolves once the switchover has ended.
 */
export async function switchoverLag(r: MarinaFaultRun): Promise<MarinaFaultOutcome> {
  const [, target, lagging] = r.stack.lab.nodes;
  if (!target || !lagging) throw new Error("switchover-lag needs three servers");
  await lagging.query("STOP SLAVE SQL_THREAD");
  const lagEnds = sleep(r.ms).then(() => lagging.query("START SLAVE SQL_THREAD").catch(() => {}));
  await sleep(Math.min(1_000, r.ms / 2));
  const reply = await switchover(r.stack, target.name);
  let detail = `switchover to ${target.name} while ${lagging.name} lagged ${r.ms} ms: `;
  if (reply.ok && reply.opId) {
    const opId = reply.opId;
    const end = await r.obs
      .waitFor(
        (o) =>
          o.kind === "operation" && o.operation.opId === opId && o.operation.state !== "running",
        60_000,
      )
      .catch(() => undefined);
    detail += end?.kind === "operation" ? end.operation.state : "no end seen in 60 s";
  } else {
    detail += reply.ok ? "accepted without an operation" : `refused ${reply.error.code}`;
  }
  await lagEnds;
  return { detail };
}

/** The switchover command, as a person would send it. */
async function switchover(stack: Stack, target: string): Promise<CommandReply> {
  const m = await stack.nc.request(subjects.cmd("main", "switchover"), JSON.stringify({ target }), {
    timeout: 15_000,
  });
  const r = parseMessage(CommandReplyMessage, m.data);
  if (!r.ok) throw new Error(`invalid switchover reply: ${m.string()}`);
  return r.value.payload;
}
