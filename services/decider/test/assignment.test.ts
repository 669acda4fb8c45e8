// The preferred owner of each cluster: rendezvous hashing over the live deciders that
// configure it. Tables for the fixed cases, properties for what hashing must guarantee.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assignClusters,
  type DeciderView,
  preferredOwner,
  rendezvousWeight,
} from "../src/assignment.js";

const all = (ids: string[], clusters: string[]): DeciderView[] =>
  ids.map((id) => ({ id, clusters }));
const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

const Name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/);
const Ids = fc.uniqueArray(Name, { minLength: 1, maxLength: 8 });
const Clusters = fc.uniqueArray(Name, { minLength: 1, maxLength: 40 });

describe("preferredOwner", () => {
  it.each<[string, string, DeciderView[], string | undefined]>([
    ["no decider", "c1", [], undefined],
    ["no decider configures it", "c1", [{ id: "d1", clusters: ["c2"] }], undefined],
    [
      "the only one that configures it",
      "c1",
      [
        { id: "d1", clusters: ["c2"] },
        { id: "d2", clusters: ["c1"] },
      ],
      "d2",
    ],
    ["a single decider", "c1", [{ id: "d1", clusters: ["c1", "c2"] }], "d1"],
  ])("%s", (_, cluster, deciders, owner) => {
    expect(preferredOwner(cluster, deciders)).toBe(owner);
  });

  it("is the decider with the highest weight", () => {
    const ids = names("decider-", 5);
    for (const c of names("c", 20)) {
      const best = [...ids].sort((a, b) => rendezvousWeight(c, b) - rendezvousWeight(c, a))[0];
      expect(preferredOwner(c, all(ids, [c]))).toBe(best);
    }
  });

  it("weights are 53-bit integers, stable across calls, and differ per pair", () => {
    const w = rendezvousWeight("c1", "decider-a");
    expect(Number.isSafeInteger(w) && w >= 0).toBe(true);
    expect(rendezvousWeight("c1", "decider-a")).toBe(w);
    // known value: a change of hash would reshuffle every running deployment
    expect(w).toMatchInlineSnapshot(`1485349684454405`);
    expect(rendezvousWeight("c1", "decider-b")).not.toBe(w);
  });
});

describe("assignClusters (properties)", () => {
  it("is deterministic and independent of the order deciders are listed in", () => {
    fc.assert(
      fc.property(Ids, Clusters, (ids, clusters) => {
        const a = assignClusters(clusters, all(ids, clusters));
        const b = assignClusters(clusters, all([...ids].reverse(), clusters));
        expect([...a]).toEqual([...b]);
      }),
    );
  });

  it("names an owner for every cluster, one that configures it", () => {
    fc.assert(
      fc.property(
        Ids,
        Clusters,
        fc.array(fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), {
          minLength: 8,
          maxLength: 8,
        }),
        (ids, clusters, has) => {
          const deciders = ids.map((id, i) => ({
            id,
            clusters: clusters.filter((_, j) => has[i]![j]),
          }));
          for (const [c, owner] of assignClusters(clusters, deciders)) {
            const configuring = deciders.filter((d) => d.clusters.includes(c)).map((d) => d.id);
            if (configuring.length === 0) expect(owner).toBeUndefined();
            else expect(configuring).toContain(owner);
          }
        },
      ),
    );
  });

  it("removing a decider moves only the clusters it owned", () => {
    fc.assert(
      fc.property(Ids, Clusters, fc.nat(), (ids, clusters, pick) => {
        fc.pre(ids.length >= 2);
        const gone = ids[pick % ids.length]!;
        const before = assignClusters(clusters, all(ids, clusters));
        const after = assignClusters(
          clusters,
          all(
            ids.filter((id) => id !== gone),
            clusters,
          ),
        );
        for (const c of clusters) {
          if (before.get(c) !== gone) expect(after.get(c)).toBe(before.get(c));
          else expect(after.get(c)).not.toBe(gone);
        }
      }),
    );
  });

  it("adding a decider moves clusters only to it", () => {
    fc.assert(
      fc.property(Ids, Name, Clusters, (ids, added, clusters) => {
        fc.pre(!ids.includes(added));
        const before = assignClusters(clusters, all(ids, clusters));
        const after = assignClusters(clusters, all([...ids, added], clusters));
        for (const c of clusters) {
          if (after.get(c) !== before.get(c)) expect(after.get(c)).toBe(added);
        }
      }),
    );
  });

  it("adding one to n deciders moves about 1/(n+1) of many clusters, and spreads them evenly", () => {
    const clusters = names("cluster-", 3000);
    for (const n of [1, 2, 3, 5, 9]) {
      const ids = names("decider-", n);
      const before = assignClusters(clusters, all(ids, clusters));
      const after = assignClusters(clusters, all([...ids, "decider-new"], clusters));
      const moved = clusters.filter((c) => before.get(c) !== after.get(c)).length;
      const expected = clusters.length / (n + 1);
      expect(moved, `n=${n}`).toBeGreaterThan(expected * 0.85);
      expect(moved, `n=${n}`).toBeLessThan(expected * 1.15);
      const counts = new Map<string, number>();
      for (const o of after.values()) counts.set(o!, (counts.get(o!) ?? 0) + 1);
      for (const [id, count] of counts) {
        expect(count, `n=${n} ${id}`).toBeGreaterThan(expected * 0.8);
        expect(count, `n=${n} ${id}`).toBeLessThan(expected * 1.2);
      }
    }
  });
});
