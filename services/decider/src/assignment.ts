// Which decider should lead which cluster: rendezvous (highest-random-weight) hashing over the
// live deciders that configure the cluster. Pure and deterministic, so every decider computes
// the same owner from the same view of who is alive. Each (cluster, decider) pair gets a
// pseudo-random weight and the heaviest decider wins: removing a decider moves only the
// clusters it owned, adding one moves to it about 1/n of the clusters and nothing else.

/** A decider as the assignment sees it: its id and the clusters its config names. */
export interface DeciderView {
  readonly id: string;
  readonly clusters: readonly string[];
}

/** cyrb53: a fast 53-bit string hash with good avalanche (public domain, bryc). */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The weight of `decider` for `cluster` (names cannot hold a newline, so pairs are distinct). */
export function rendezvousWeight(cluster: string, decider: string): number {
  return hash53(`${cluster}\n${decider}`);
}

/**
 * The preferred owner of `cluster` among `deciders` (only those that configure it count);
 * undefined when none does. Equal weights (practically never) go to the smaller id.
 */
export function preferredOwner(
  cluster: string,
  deciders: readonly DeciderView[],
): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const d of deciders) {
    if (!d.clusters.includes(cluster)) continue;
    const w = rendezvousWeight(cluster, d.id);
    if (w > bestWeight || (w === bestWeight && best !== undefined && d.id < best)) {
      best = d.id;
      bestWeight = w;
    }
  }
  return best;
}

/** The preferred owner of every cluster in `clusters` (undefined: no live decider has it). */
export function assignClusters(
  clusters: readonly string[],
  deciders: readonly DeciderView[],
): Map<string, string | undefined> {
  return new Map(clusters.map((c) => [c, preferredOwner(c, deciders)]));
}
