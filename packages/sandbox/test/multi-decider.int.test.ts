// Several deciders share several clusters: three labs (c1…c3), two deciders in-process.
// Each decider leads the clusters it is the preferred owner of; a killed decider's clusters
// (and only they) move to the survivor; started again, it gets them back by handover; no
// cluster ever has two leaders (every decider's own view sampled every few ms, and the
// lease bucket's history watched). Then a kill -9 of one cluster's primary fails over while
// the other clusters, watched by the same services, stay as they are.
import { assignClusters } from "@marina/decider";
import { waitFor } from "@marina/lab";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MultiStack, startClusters } from "../src/multi-stack.js";
import { type Observer, observe } from "../src/observer.js";
import { operationResult, topologyWith } from "./ha-helpers.js";

const TTL_MS = 1500;
const RENEW_MS = 250;
const STABLE_MS = 3000;

interface LeaseWrite {
  at: number;
  cluster: string;
  holder: string;
  epoch: number;
}

interface LeaseDelete {
  at: number;
  cluster: string;
}

/** Every lease record stored in KV `marina_leader`, in order (an ordered consumer). */
async function watchLeaseBucket(stack: MultiStack) {
  const writes: LeaseWrite[] = [];
  const deletes: LeaseDelete[] = [];
  const consumer = await jetstream(stack.nc).consumers.get("KV_marina_leader");
  const messages = await consumer.consume({
    callback: (m) => {
      const cluster = m.subject.split(".").pop() ?? "";
      if (m.headers?.get("KV-Operation") === "DEL") {
        deletes.push({ at: performance.now(), cluster });
        return;
      }
      if (m.data.length === 0) return;
      const v = m.json<{ holder?: string; epoch?: number }>();
      if (typeof v.holder !== "string" || typeof v.epoch !== "number") return; // placeholder
      writes.push({ at: performance.now(), cluster, holder: v.holder, epoch: v.epoch });
    },
  });
  return { writes, deletes, stop: () => messages.stop() };
}

/** Samples every running decider's own view; records any moment a cluster has two leaders. */
function sampleLeaders(stack: MultiStack) {
  const doubles: string[] = [];
  const timer = setInterval(() => {
    for (const [cluster, ids] of stack.leaders()) {
      if (ids.length > 1) doubles.push(`${cluster}: ${ids.join(", ")}`);
    }
  }, 5);
  return { doubles, stop: () => clearInterval(timer) };
}

/** Two decider ids between which c1…c3 split (rendezvous hashing decides which). */
function splittingIds(clusters: readonly string[]): [string, string] {
  for (let i = 1; ; i += 2) {
    const ids: [string, string] = [`decider-${i}`, `decider-${i + 1}`];
    const owners = assignClusters(
      clusters,
      ids.map((id) => ({ id, clusters })),
    );
    if (new Set(owners.values()).size === 2) return ids;
  }
}

describe("several deciders share several clusters", () => {
  let stack: MultiStack;
  const observers = new Map<string, Observer>();

  beforeAll(async () => {
    stack = await startClusters({
      clusters: 3,
      nodesPerCluster: 3,
      deciders: 0,
      executors: 2,
      leaseTtlMs: TTL_MS,
      renewEveryMs: RENEW_MS,
      sharing: { handoverStableMs: STABLE_MS, handoverBackoffMs: STABLE_MS },
    });
    for (const c of stack.clusters) observers.set(c, observe(stack.nc, c));
  });
  afterAll(async () => {
    for (const o of observers.values()) o.close();
    await stack?.close();
  });

  it("share the work, move only a dead decider's clusters, rebalance on its return", async () => {
    const clusters = stack.clusters;
    const [idA, idB] = splittingIds(clusters);
    const owners = assignClusters(
      clusters,
      [idA, idB].map((id) => ({ id, clusters })),
    );
    const ofA = clusters.filter((c) => owners.get(c) === idA);
    const ofB = clusters.filter((c) => owners.get(c) === idB);
    const leaders = () => stack.leaders();
    const ledBy = (id: string) => clusters.filter((c) => leaders().get(c)?.includes(id));
    const sampler = sampleLeaders(stack);
    // Both start; whoever is first leads everything, then hands the other its share.
    const a = await stack.startDecider(idA);
    const bucket = await watchLeaseBucket(stack); // the deciders create the bucket
    try {
      await stack.startDecider(idB);
      const joinedAt = performance.now();
      await waitFor(() => ledBy(idA).join() === ofA.join() && ledBy(idB).join() === ofB.join(), {
        timeoutMs: 30_000,
        message: `${idA} leading ${ofA} and ${idB} leading ${ofB}`,
        describe: () => JSON.stringify([...leaders()]),
      });
      const initialMs = performance.now() - joinedAt;
      expect(ofA.length).toBeGreaterThan(0);
      expect(ofB.length).toBeGreaterThan(0);
      const epochsOfA = new Map(ofA.map((c) => [c, a.app.leases.get(c)!.epoch]));
      const epochsOfB = new Map(
        ofB.map((c) => [c, stack.deciders.get(idB)!.app.leases.get(c)!.epoch]),
      );

      // B dies (nothing released): after about the TTL, A leads B's clusters too, and its own
      // clusters keep their holder and epoch (no lease write of another holder in between).
      const killedAt = performance.now();
      const writesBeforeKill = bucket.writes.length;
      await stack.killDecider(idB);
      await waitFor(() => ledBy(idA).length === clusters.length, {
        timeoutMs: 20_000,
        message: `${idA} leading every cluster`,
      });
      const moveMs = performance.now() - killedAt;
      for (const c of ofA) expect(a.app.leases.get(c)!.epoch).toBe(epochsOfA.get(c));
      for (const c of ofB) expect(a.app.leases.get(c)!.epoch).toBeGreaterThan(epochsOfB.get(c)!);
      const afterKill = bucket.writes.slice(writesBeforeKill);
      // The watch delivers late: a renewal B made of its own leases just before it died may
      // arrive after the count above. Nothing but A ever writes A's clusters, and B writes
      // nothing but its old epochs of its own.
      for (const w of afterKill) {
        if (w.holder === idA) continue;
        expect(w.holder, JSON.stringify(w)).toBe(idB);
        expect(ofB, JSON.stringify(w)).toContain(w.cluster);
        expect(w.epoch, JSON.stringify(w)).toBe(epochsOfB.get(w.cluster));
      }
      for (const c of ofA) {
        expect(
          afterKill.filter((w) => w.cluster === c).every((w) => w.epoch === epochsOfA.get(c)),
        ).toBe(true);
      }

      // B returns: after the stable period A hands it its clusters back, keeping its own.
      const restartedAt = performance.now();
      await stack.startDecider(idB);
      await waitFor(() => ledBy(idB).join() === ofB.join(), {
        timeoutMs: 30_000,
        message: `${idB} leading ${ofB} again`,
        describe: () => JSON.stringify([...leaders()]),
      });
      const rebalanceMs = performance.now() - restartedAt;
      // Each handover: the old leader's delete, then the new one's first record.
      const gaps = ofB.map((c) => {
        const del = bucket.deletes.find((d) => d.cluster === c && d.at >= restartedAt);
        const put = bucket.writes.find(
          (w) => w.cluster === c && w.at >= (del?.at ?? 0) && w.holder === idB,
        );
        return del && put ? put.at - del.at : Number.NaN;
      });
      expect(ledBy(idA)).toEqual(ofA);
      for (const c of ofA) expect(a.app.leases.get(c)!.epoch).toBe(epochsOfA.get(c));
      expect(rebalanceMs).toBeGreaterThanOrEqual(STABLE_MS);
      console.log(
        `[multi-decider] initial share ${Math.round(initialMs)} ms; dead decider's clusters moved in ${Math.round(moveMs)} ms (TTL ${TTL_MS}); rebalanced on return in ${Math.round(rebalanceMs)} ms (stable period ${STABLE_MS}); leaderless gap per handover ${gaps.map(Math.round).join(", ")} ms (renewal ${RENEW_MS})`,
      );
    } finally {
      sampler.stop();
      bucket.stop();
    }
    expect(sampler.doubles).toEqual([]);
    // In KV, a cluster's lease changes holder only with a higher epoch, and epochs never fall.
    for (const c of clusters) {
      const writes = bucket.writes.filter((w) => w.cluster === c);
      for (let i = 1; i < writes.length; i++) {
        const [prev, next] = [writes[i - 1]!, writes[i]!];
        expect(next.epoch, `${c} #${i}`).toBeGreaterThanOrEqual(prev.epoch);
        if (next.holder !== prev.holder)
          expect(next.epoch, `${c} #${i}`).toBeGreaterThan(prev.epoch);
      }
    }
  });

  it("fails over one cluster (kill -9 of its primary) while the others stay as they are", async () => {
    const [victim, ...others] = stack.clusters as [string, ...string[]];
    for (const c of stack.clusters) {
      await topologyWith(
        observers.get(c)!,
        (t) => t.writer?.server === "db1",
        20_000,
        `${c}: db1 writer`,
      );
    }
    const leadersBefore = stack.leaders();
    const opsBefore = new Map(others.map((c) => [c, observers.get(c)!.operations().length]));
    const obs = observers.get(victim)!;
    const t0 = performance.now();
    await stack.lab(victim).node("db1").kill9();
    const promoted = await topologyWith(
      obs,
      (t) => t.writer !== null && t.writer.server !== "db1",
      30_000,
      `${victim}: a new writer`,
    );
    const failoverMs = performance.now() - t0;
    expect(["db2", "db3"]).toContain(promoted.writer!.server);
    const started = obs.operations().find((o) => o.kind === "failover");
    expect(started).toBeDefined();
    const done = await operationResult(obs, started!.opId, 30_000);
    expect(done.state, done.message).toBe("succeeded");
    // the failover ran under the cluster's leader, which did not change
    expect(stack.leaders().get(victim)).toEqual(leadersBefore.get(victim));
    // nothing happened to the other clusters
    for (const c of others) {
      expect(observers.get(c)!.operations().length, c).toBe(opsBefore.get(c));
      const last = observers.get(c)!.topologies().at(-1);
      expect(last?.writer?.server, c).toBe("db1");
      expect(stack.leaders().get(c)).toEqual(leadersBefore.get(c));
    }
    console.log(
      `[multi-decider] failover of ${victim} with 3 clusters watched: ${Math.round(failoverMs)} ms to a new writer`,
    );
  });
});
