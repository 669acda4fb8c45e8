// The frozen-primary scenario of the hardening work: SIGSTOP the primary under write load,
// let Marina fail over, SIGCONT it — while some clients keep writing to the OLD primary
// whatever happens (a pool that has not moved yet). Every write any client was told OK for
// must be on the new primary. Shared by the e2e test and `pnpm bench thaw`.
import {
  findMissingIds,
  type MariaNode,
  sleep,
  startWriter,
  type Writer,
  waitFor,
} from "@marina/lab";
import { type Observed, type Observer, observe } from "../observer.js";
import { type Stack, type StackOptions, startStack } from "../stack.js";
import { pollReadOnly, type ReadOnlyPoller } from "./read-only-poller.js";
import { topologyWriter } from "./topology-writer.js";

export interface ThawTrialOptions {
  /** How long db1 stays frozen (at least until the failover has published a new writer). */
  readonly freezeMs: number;
  /** Clients pinned to db1; half keep their connection through the freeze. Default 4. */
  readonly stickyWriters?: number;
  readonly stack?: StackOptions;
}

export interface ThawTrialResult {
  readonly freezeMs: number;
  readonly newPrimary: string;
  /** SIGSTOP → a topology naming another writer. */
  readonly failoverMs: number;
  /** Writes acknowledged to the clients pinned to db1, in all. */
  readonly stickyAcked: number;
  /** …of which acknowledged after SIGCONT (by the thawed old primary). */
  readonly stickyAckedAfterThaw: number;
  /** Acknowledged writes (pinned or following clients) missing from the new primary. */
  readonly missing: number[];
  /** For each: when it was acknowledged (ms after SIGCONT; negative: before) and which servers have it. */
  readonly lost: Array<{ id: number; ackedAfterThawMs: number | null; on: string[] }>;
  /** SIGCONT → read_only=1 seen by a 50 ms poller. */
  readonly thawToReadOnlyMs: number | null;
  /** What became of db1: `replica` (rejoined), `diverged`, or `unsettled`. */
  readonly outcome: string;
}

const STICKY_TABLE = "sticky";
const STEP_TIMEOUT_MS = 60_000;

const roleOfDb1 = (o: Observed) =>
  o.kind === "topology" ? o.topology.servers.find((s) => s.name === "db1")?.role : undefined;

async function stickyWriters(
  db1: MariaNode,
  n: number,
  ackedAt: Map<number, number>,
): Promise<Writer[]> {
  const writers: Writer[] = [];
  for (let k = 0; k < n; k++) {
    writers.push(
      await startWriter(db1, {
        onAck: (id, at) => ackedAt.set(id, at),
        table: STICKY_TABLE,
        firstId: (k + 1) * 1_000_000,
        intervalMs: 5,
        // Half hold their connection through the freeze (a pool that has not moved); half
        // give up after 5 s and reconnect to db1 as soon as it answers again.
        socketTimeoutMs: k % 2 === 0 ? 60_000 : 5_000,
      }),
    );
  }
  return writers;
}

/** One trial on its own stack: freeze, failover, thaw, settle, count. */
export async function thawTrial(o: ThawTrialOptions): Promise<ThawTrialResult> {
  const stack = await startStack({ lab: { semiSync: true, nodes: 3 }, ...o.stack });
  try {
    return await runThaw(stack, o);
  } finally {
    await stack.close();
  }
}

/** The scenario on a running stack whose primary is db1 (semi-sync on). */
export async function runThaw(stack: Stack, o: ThawTrialOptions): Promise<ThawTrialResult> {
  const { lab } = stack;
  const db1 = lab.node("db1");
  const obs: Observer = observe(stack.nc, "main");
  let writers: Writer[] = [];
  let poller: ReadOnlyPoller | undefined;
  let frozen = false;
  try {
    await obs.waitFor(
      (x) => x.kind === "topology" && x.topology.primary === "db1" && x.topology.writer !== null,
      STEP_TIMEOUT_MS,
      "db1 the writer",
    );
    const following = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    const ackedAt = new Map<number, number>();
    writers = [following, ...(await stickyWriters(db1, o.stickyWriters ?? 4, ackedAt))];
    const sticky = writers.slice(1);
    await waitFor(() => sticky.every((w) => w.acked.length >= 20), {
      timeoutMs: STEP_TIMEOUT_MS,
      message: "pinned writers warmed up",
    });

    const t0 = performance.now();
    frozen = true;
    await db1.sigstop();
    const promoted = await obs.waitFor(
      (x) =>
        x.kind === "topology" &&
        x.at > t0 &&
        x.topology.writer !== null &&
        x.topology.primary !== "db1",
      STEP_TIMEOUT_MS,
      "a new writer",
    );
    const newPrimary = (promoted as Extract<Observed, { kind: "topology" }>).topology.primary!;
    const failoverMs = promoted.at - t0;
    await sleep(Math.max(0, t0 + o.freezeMs - performance.now()));

    poller = pollReadOnly(db1, 50);
    const ackedAtThaw = sticky.map((w) => w.acked.length);
    const thawAt = performance.now();
    await db1.sigcont();
    frozen = false;
    const fenced = await poller.firstReadOnly(STEP_TIMEOUT_MS).catch(() => null);
    const settled = await obs
      .waitFor(
        (x) => x.at > thawAt && ["replica", "diverged"].includes(roleOfDb1(x) ?? ""),
        30_000,
        "db1 rejoined or flagged diverged",
      )
      .catch(() => null);
    // Let the pinned clients keep trying against the fenced server for a while.
    await sleep(1_000);
    for (const w of writers) await w.stop();

    const target = lab.node(newPrimary);
    const missing = [
      ...(await findMissingIds(target, following.acked)),
      ...(await findMissingIds(
        target,
        sticky.flatMap((w) => w.acked),
        STICKY_TABLE,
      )),
    ];
    const lost = await Promise.all(
      missing.map(async (id) => ({
        id,
        ackedAfterThawMs: ackedAt.has(id) ? Math.round(ackedAt.get(id)! - thawAt) : null,
        on: await serversHaving(stack, id),
      })),
    );
    return {
      lost,
      freezeMs: thawAt - t0,
      newPrimary,
      failoverMs,
      stickyAcked: sticky.reduce((n, w) => n + w.acked.length, 0),
      stickyAckedAfterThaw: sticky.reduce((n, w, i) => n + w.acked.length - ackedAtThaw[i]!, 0),
      missing,
      thawToReadOnlyMs: fenced === null ? null : fenced - thawAt,
      outcome: (settled && roleOfDb1(settled)) ?? "unsettled",
    };
  } finally {
    if (frozen) await db1.sigcont().catch(() => {});
    poller?.stop();
    for (const w of writers) await w.stop();
    obs.close();
  }
}

/** The servers whose pinned-writers' table holds row `id` (for a lost write: where it went). */
async function serversHaving(stack: Stack, id: number): Promise<string[]> {
  const out: string[] = [];
  for (const n of stack.lab.nodes) {
    const rows = await n
      .query<unknown[]>(`SELECT id FROM app.${STICKY_TABLE} WHERE id = ?`, [id], {
        timeoutMs: 5_000,
      })
      .catch(() => null);
    if (rows && rows.length > 0) out.push(n.name);
  }
  return out;
}
