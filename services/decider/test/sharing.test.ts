// Several deciders sharing clusters, over in-memory buses and KV buckets with a TTL (the
// timings are short, the rules those of production): the preferred decider of each cluster
// leads it, a dead decider's clusters move to the others and only those, a returning one
// gets its clusters back by handover, and no cluster ever has two leaders.
import { MarinaConfig } from "@marina/contracts";
import { systemClock } from "@marina/runtime";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type AppDeps, buildApp, type DeciderApp } from "../src/app.js";
import { assignClusters } from "../src/assignment.js";
import { Lease, readLease } from "../src/lease.js";
import { Presence } from "../src/presence.js";
import { ClusterSharing } from "../src/sharing.js";
import { FakeBus } from "./fake-bus.js";
import { FakeTtlKv } from "./fake-ttl-kv.js";
import { cluster } from "./fixtures.js";

const TTL = 400;
const RENEW = 100;
const CLUSTERS = ["c1", "c2", "c3"];
const log = pino({ level: "silent" });
const config = MarinaConfig.parse({
  clusters: CLUSTERS.map((name) => ({ ...cluster, name })),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(ok: () => boolean | Promise<boolean>, ms = 5_000, what = "condition") {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await sleep(5);
  }
}

/** Two decider ids between which the three clusters split (rendezvous hashing decides). */
function splittingIds(): [string, string] {
  for (let i = 1; ; i++) {
    const ids = [`decider-${i}`, `decider-${i + 1}`];
    const owners = new Set(
      assignClusters(
        CLUSTERS,
        ids.map((id) => ({ id, clusters: CLUSTERS })),
      ).values(),
    );
    if (owners.size === 2) return ids as [string, string];
  }
}

describe("deciders sharing clusters", () => {
  const apps: DeciderApp[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close(false);
  });

  function world() {
    const kv = {
      leases: new FakeTtlKv(TTL),
      state: new FakeTtlKv(1e9),
      presence: new FakeTtlKv(TTL),
    };
    const start = (id: string, over: Partial<AppDeps> = {}) => {
      const app = buildApp({
        bus: new FakeBus(),
        kv,
        clock: systemClock,
        log,
        config,
        id,
        leaseTtlMs: TTL,
        renewEveryMs: RENEW,
        tickMs: 50,
        sharing: { handoverStableMs: 500, handoverBackoffMs: 500, freeGraceMs: TTL },
        ...over,
      });
      apps.push(app);
      app.start();
      return app;
    };
    return { kv, start };
  }

  /** Samples every app's view every few ms; records any cluster led by two at once. */
  function watchLeaders(all: () => DeciderApp[]) {
    const doubles: string[] = [];
    const timer = setInterval(() => {
      for (const c of CLUSTERS) {
        const leaders = all().filter((a) => a.leases.get(c)!.leader);
        if (leaders.length > 1) doubles.push(c);
      }
    }, 2);
    return { doubles, stop: () => clearInterval(timer) };
  }

  it("a single decider leads every cluster at once", async () => {
    const { start } = world();
    const t0 = performance.now();
    const a = start("decider-a");
    await until(() => a.leading().length === 3, 2_000);
    // no grace period waited (that would be the TTL)
    expect(performance.now() - t0).toBeLessThan(TTL);
    expect(a.sharing?.preferredOwners()).toEqual(new Map(CLUSTERS.map((c) => [c, "decider-a"])));
  });

  it("share by preference; a dead decider's clusters move (only they); it gets them back on return", async () => {
    const { kv, start } = world();
    const [idA, idB] = splittingIds();
    const owners = assignClusters(
      CLUSTERS,
      [idA, idB].map((id) => ({ id, clusters: CLUSTERS })),
    );
    const ofB = CLUSTERS.filter((c) => owners.get(c) === idB);
    const ofA = CLUSTERS.filter((c) => owners.get(c) === idA);
    const live: DeciderApp[] = [];
    const watch = watchLeaders(() => live);
    try {
      const a = start(idA);
      live.push(a);
      await until(() => a.leading().length === 3, 2_000, "A leads all");
      const epochsOfA = new Map(ofA.map((c) => [c, a.leases.get(c)!.epoch]));

      // B joins: after the stable period A hands B its clusters
      let b = start(idB);
      live.push(b);
      await until(() => b.leading().join() === ofB.join(), 5_000, "B leads its clusters");
      expect(a.leading()).toEqual(ofA);
      for (const c of ofA) expect(a.leases.get(c)!.epoch).toBe(epochsOfA.get(c));

      // B dies without releasing anything: its clusters (only) move to A after about the TTL
      const epochsOfB = new Map(ofB.map((c) => [c, b.leases.get(c)!.epoch]));
      await b.close(false);
      live.splice(live.indexOf(b), 1);
      const killedAt = performance.now();
      await until(() => a.leading().length === 3, 5_000, "A takes B's clusters");
      const moveMs = performance.now() - killedAt;
      expect(moveMs).toBeGreaterThan(TTL * 0.5);
      expect(moveMs).toBeLessThan(TTL + 6 * RENEW);
      for (const c of ofA) expect(a.leases.get(c)!.epoch).toBe(epochsOfA.get(c));
      for (const c of ofB) expect(a.leases.get(c)!.epoch).toBeGreaterThan(epochsOfB.get(c)!);

      // B comes back: it gets its clusters back by handover, A keeps its own
      b = start(idB);
      live.push(b);
      await until(() => b.leading().join() === ofB.join(), 5_000, "B back");
      expect(a.leading()).toEqual(ofA);
      for (const c of ofA) {
        expect(a.leases.get(c)!.epoch).toBe(epochsOfA.get(c));
        expect((await readLease(kv.leases, c))?.holder).toBe(idA);
      }
    } finally {
      watch.stop();
    }
    expect(watch.doubles).toEqual([]);
    // in KV, every cluster's epochs only rose
    for (const c of CLUSTERS) {
      const epochs = kv.leases.history
        .filter((h) => h.key === c && h.value !== "{}")
        .map((h) => JSON.parse(h.value).epoch as number);
      expect(epochs).toEqual([...epochs].sort((x, y) => x - y));
    }
  });

  it("a clean stop hands its clusters over at once, without waiting for the TTL", async () => {
    const { start } = world();
    const [idA, idB] = splittingIds();
    const a = start(idA);
    await until(() => a.leading().length === 3, 2_000);
    const b = start(idB);
    await until(() => b.leading().length > 0, 5_000);
    const stoppedAt = performance.now();
    await b.close(true);
    await until(() => a.leading().length === 3, 5_000);
    expect(performance.now() - stoppedAt).toBeLessThan(TTL);
  });
});

describe("ClusterSharing handovers", () => {
  function rig(o: { quiet: () => boolean }) {
    const leases = new FakeTtlKv(TTL);
    const state = new FakeTtlKv(1e9);
    const presence = new FakeTtlKv(TTL);
    const now = () => performance.now();
    const changes: boolean[] = [];
    let sharing: ClusterSharing | undefined;
    const lease = new Lease(leases, state, {
      cluster: "c1",
      holder: "me",
      ttlMs: TTL,
      renewEveryMs: RENEW,
      now,
      onChange: (leader) => {
        changes.push(leader);
        sharing?.onLeadership("c1", leader);
      },
      preferred: () => sharing?.isPreferred("c1") ?? true,
      freeGraceMs: TTL,
    });
    const mine = new Presence(presence, {
      id: "me",
      incarnation: "me-1",
      clusters: ["c1"],
      ttlMs: TTL,
      now,
      leads: () => [],
    });
    sharing = new ClusterSharing({
      id: "me",
      presence: mine,
      clusters: new Map([["c1", { lease, runner: { quiet: o.quiet } }]]),
      everyMs: RENEW,
      policy: { stableMs: 300, backoffMs: 600, maxBackoffMs: 10_000 },
      now,
      log,
    });
    // A peer that configures c1 and wins it, but never takes a lease (its link to KV is bad).
    let peerId = "";
    for (let i = 1; !peerId; i++) {
      const id = `other-${i}`;
      const views = [id, "me"].map((d) => ({ id: d, clusters: ["c1"] }));
      if (assignClusters(["c1"], views).get("c1") === id) peerId = id;
    }
    const peer = new Presence(presence, {
      id: peerId,
      incarnation: "p-1",
      clusters: ["c1"],
      ttlMs: TTL,
      now,
      leads: () => [],
    });
    return { leases, lease, sharing, peer, changes };
  }

  it("waits for a quiet cluster, and backs off when the preferred decider does not take it", async () => {
    let quiet = false;
    const r = rig({ quiet: () => quiet });
    await r.sharing.start();
    r.lease.start();
    await until(() => r.lease.leader, 2_000, "me leads while alone");
    const peerTimer = setInterval(() => void r.peer.round(), RENEW);
    try {
      await r.peer.round();
      // stable for long, but busy: no handover
      await sleep(600);
      expect(r.lease.leader).toBe(true);
      // quiet: handed over; nobody takes it; after the grace it is taken back
      quiet = true;
      await until(() => !r.lease.leader, 2_000, "released");
      const releasedAt = performance.now();
      await until(() => r.lease.leader, 3_000, "taken back through the grace path");
      expect(performance.now() - releasedAt).toBeGreaterThanOrEqual(TTL - RENEW);
      // the failed handover doubles the backoff (600 → 1200 ms): no new release meanwhile
      const retakenAt = performance.now();
      await until(() => !r.lease.leader, 4_000, "released again");
      expect(performance.now() - releasedAt).toBeGreaterThan(1_100);
      expect(performance.now() - retakenAt).toBeGreaterThan(200);
    } finally {
      clearInterval(peerTimer);
      await r.sharing.close(false);
      await r.lease.stop(false);
    }
  });
});
