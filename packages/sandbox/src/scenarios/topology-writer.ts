import type { Lab, MariaNode } from "@marina/lab";
import type { Observer } from "../observer.js";

/**
 * A writer target that follows the published topology: the last writer any topology named
 * (a client doing what Marina tells it), starting at `initial`.
 */
export function topologyWriter(lab: Lab, obs: Observer, initial: string): () => MariaNode {
  return () => {
    const ts = obs.topologies();
    for (let i = ts.length - 1; i >= 0; i--) {
      const w = ts[i]!.writer;
      if (w) return lab.node(w.server);
    }
    return lab.node(initial);
  };
}
