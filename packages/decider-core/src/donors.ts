import type { ClusterConfig } from "@marina/contracts/config";
import { parseGtidList, positionOf } from "@marina/contracts/gtid";
import { currentObservation, lagOf, reachability, serverConfig, sourceOf } from "./knowledge.js";
import type { Env } from "./plans/common.js";
import type { DeciderState } from "./state.js";
import { attachedServers } from "./topology.js";

// Which servers are healthy replicas, which are flagged for a rebuild, and which server a
// rebuild copies from.

/** The replica connection healthy and pointing at a server of the topology. */
export function replicatingFine(env: Env, server: string): boolean {
  const { state, ctx } = env;
  const obs = currentObservation(state, ctx.config, server, ctx.now);
  if (!obs || state.diverged[server]) return false;
  const attached = new Set([...attachedServers(state, ctx.config, ctx.now), state.primary]);
  return obs.replication.some((c) => {
    const src = sourceOf(ctx.config, c);
    return (
      src !== null &&
      attached.has(src) &&
      c.ioThread === "Yes" &&
      c.sqlThread &&
      c.lastSqlErrno === 0 &&
      c.lastIoErrno === 0
    );
  });
}

const DIVERGED_TAGS: ReadonlySet<string> = new Set(["ServerDiverged", "OldPrimaryDiverged"]);

/**
 * Flagged as diverged: recorded so (a former primary, a stray, a failed rebuild), or its
 * current situations say so (a replica that applied errant transactions and may well
 * still replicate).
 */
export function flaggedDiverged(state: DeciderState, server: string): boolean {
  return (
    state.diverged[server] !== undefined ||
    (state.situations[server] ?? []).some((t) => DIVERGED_TAGS.has(t))
  );
}

/**
 * The servers a promotion must not take and a pull must not copy from: flagged diverged,
 * or found with errant transactions by the current situations (not yet confirmed).
 */
export function divergedServers(state: DeciderState, config: ClusterConfig): string[] {
  return config.servers.map((s) => s.name).filter((n) => flaggedDiverged(state, n));
}

/** Removes the diverged situations of a server that was just rebuilt. */
export function clearDivergedTags(state: DeciderState, server: string) {
  const tags = state.situations[server];
  if (tags) state.situations[server] = tags.filter((t) => !DIVERGED_TAGS.has(t));
}

export function hasAgent(env: Env, server: string): boolean {
  return serverConfig(env.ctx.config, server)?.agentHost !== undefined;
}

/**
 * The healthiest replica, most advanced first, then the primary (when reachable); among
 * those, the first whose host runs an agent. Null when no server will do.
 */
export function chooseDonor(env: Env, target: string): string | null {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const fine = config.servers
    .map((s) => s.name)
    .filter(
      (n) =>
        n !== target &&
        n !== state.primary &&
        !state.maintenance[n] &&
        !flaggedDiverged(state, n) &&
        replicatingFine(env, n),
    )
    .filter((n) => {
      const obs = currentObservation(state, config, n, now)!;
      return obs.replication.every(
        (c) => (lagOf(state, n, c) ?? 0) <= config.failover.maxLagSeconds,
      );
    });
  const seq = (n: string) => {
    const pos = positionOf(
      parseGtidList(currentObservation(state, config, n, now)?.gtidCurrentPos ?? ""),
    );
    return pos.reduce((acc, g) => acc + g.seq, 0n);
  };
  fine.sort((a, b) => (seq(b) > seq(a) ? 1 : seq(b) < seq(a) ? -1 : 0));
  const p = state.primary;
  if (p !== null && p !== target && reachability(state, config, p, now) === "reachable") {
    fine.push(p);
  }
  return fine.find((n) => hasAgent(env, n)) ?? fine[0] ?? null;
}
