import type { ClusterConfig } from "@marina/contracts/config";
import type { ClusterTopology, ServerRole } from "@marina/contracts/topology";
import {
  confirmedWritable,
  currentObservation,
  observedSinceChange,
  reachability,
  serverConfig,
  sourceOf,
} from "./knowledge.js";
import type { DeciderState } from "./state.js";

// Rule 8. The authoritative topology is built from the decider's state (who is primary,
// fenced, diverged, in maintenance) and the monitors' latest observations (who replicates
// from whom). It is published when its shape — primary, writer, roles, sources — changes.

export type TopologyServer = ClusterTopology["servers"][number];

/** Sources per connection, as configured server names (unknown addresses are left out). */
export function sourcesOf(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): { connection: string; source: string }[] {
  const expected = state.expectedSources[server];
  if (expected && !observedSinceChange(state, server)) return expected;
  const obs = currentObservation(state, config, server, now);
  if (!obs) return [];
  const out: { connection: string; source: string }[] = [];
  for (const c of obs.replication) {
    const source = sourceOf(config, c);
    if (source !== null) out.push({ connection: c.connection, source });
  }
  return out;
}

/** Servers that replicate, directly or through relays, from the primary. */
export function attachedServers(state: DeciderState, config: ClusterConfig, now: number): string[] {
  const primary = state.primary;
  if (primary === null) return [];
  const attached = new Set<string>([primary]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of config.servers) {
      if (attached.has(s.name) || s.name in state.exPrimaries || s.name in state.diverged) {
        continue;
      }
      if (sourcesOf(state, config, s.name, now).some((x) => attached.has(x.source))) {
        attached.add(s.name);
        grew = true;
      }
    }
  }
  attached.delete(primary);
  return config.servers.map((s) => s.name).filter((n) => attached.has(n));
}

export function buildTopology(
  state: DeciderState,
  config: ClusterConfig,
  opts: { now: number; epoch: number; primaryDown: boolean; keepRoles?: readonly string[] },
): ClusterTopology {
  const { now } = opts;
  const attached = new Set(attachedServers(state, config, now));
  const isSource = new Set<string>();
  for (const s of config.servers) {
    for (const x of sourcesOf(state, config, s.name, now)) isSource.add(x.source);
  }
  const previous = new Map((state.topology.last?.servers ?? []).map((s) => [s.name, s]));
  const keep = new Set(opts.keepRoles ?? []);
  const servers: TopologyServer[] = config.servers.map((s) => {
    const entry = describeServer(s.name);
    // A server an operation is working on keeps its published role and sources until the
    // operation ends: mid-way it is neither what it was nor what it will be.
    const before = previous.get(s.name);
    if (keep.has(s.name) && before && entry.role !== "primary" && before.role !== "primary") {
      return { ...entry, role: before.role, reason: before.reason, sources: before.sources };
    }
    return entry;
  });
  function describeServer(name: string): TopologyServer {
    const s = serverConfig(config, name)!;
    const obs = currentObservation(state, config, s.name, now);
    const reach = reachability(state, config, s.name, now);
    // Without a fresh observation the sources are unknown: keep the published ones (a
    // maintenance or diverged server keeps its role then, and must not flap its links).
    const before = previous.get(s.name);
    const sources =
      obs || state.expectedSources[s.name] || !before
        ? sourcesOf(state, config, s.name, now)
        : before.sources;
    let role: ServerRole;
    let reason: string | null = null;
    if (s.name === state.primary) {
      role = opts.primaryDown ? "down" : "primary";
      if (opts.primaryDown) reason = "primary failed; failover pending";
    } else if (state.maintenance[s.name]) {
      role = "maintenance";
      reason = state.maintenance[s.name]?.reason ?? null;
    } else if (state.diverged[s.name]) {
      role = "diverged";
      reason = `extra GTIDs ${state.diverged[s.name]?.extraGtids}: rebuild`;
    } else if (reach === "unreachable") {
      role = "down";
    } else if (!obs) {
      role = "unknown";
      reason = "no recent sample";
    } else if (state.exPrimaries[s.name]) {
      role = "fenced";
      reason = state.exPrimaries[s.name]?.reason ?? null;
    } else if (attached.has(s.name)) {
      role = isSource.has(s.name) ? "relay" : "replica";
    } else {
      role = "unknown";
      reason =
        sources.length === 0
          ? "replicates from no one"
          : `replicates from ${sources.map((x) => x.source).join(", ")}, outside the topology`;
    }
    return {
      name: s.name,
      host: s.host,
      port: s.port,
      role,
      sources,
      readOnly: obs ? (state.readOnly[s.name]?.readOnly ?? obs.readOnly) : null,
      gtidCurrentPos: obs ? obs.gtidCurrentPos : null,
      reason,
    };
  }
  const p = state.primary;
  const pc = p !== null ? serverConfig(config, p) : undefined;
  const writable = p !== null && !opts.primaryDown && confirmedWritable(state, p);
  const lastOp = state.operation?.opId ?? state.history[state.history.length - 1]?.opId ?? null;
  return {
    cluster: config.name,
    epoch: opts.epoch,
    generation: state.topology.generation,
    primary: p,
    writer: pc && writable ? { server: pc.name, host: pc.host, port: pc.port } : null,
    servers,
    lastOperation: lastOp,
    changedAt: new Date(now).toISOString(),
  };
}

/**
 * What must change for a topology to be published again: primary, writer, roles, and who
 * each server replicates from (a replica repointed by a failover keeps its role but not its
 * source: subscribers, and the self-fencing agents, must see the new link).
 */
export function topologyKey(t: ClusterTopology): string {
  return JSON.stringify({
    primary: t.primary,
    writer: t.writer?.server ?? null,
    servers: t.servers.map((s) => [
      s.name,
      s.role,
      s.sources.map((x) => `${x.connection}:${x.source}`).sort(),
    ]),
  });
}

/**
 * The initial primary, learned from observations: the one reachable writable server that
 * replicates from no configured server and that the replicas point at.
 */
export function learnPrimary(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
): { primary: string | null; reason: string; waiting: boolean } {
  const unsampled = config.servers.filter(
    (s) => reachability(state, config, s.name, now) === "unknown",
  );
  if (unsampled.length > 0) {
    return {
      primary: null,
      reason: `waiting for a first sample of ${unsampled.map((s) => s.name).join(", ")}`,
      waiting: true,
    };
  }
  const writable: string[] = [];
  for (const s of config.servers) {
    const obs = currentObservation(state, config, s.name, now);
    if (!obs || obs.readOnly) continue;
    if (obs.replication.some((c) => sourceOf(config, c) !== null)) continue;
    writable.push(s.name);
  }
  if (writable.length === 0) {
    return {
      primary: null,
      reason: "no reachable writable server that replicates from no one",
      waiting: false,
    };
  }
  if (writable.length > 1) {
    return {
      primary: null,
      reason: `several writable servers: ${writable.join(", ")}`,
      waiting: false,
    };
  }
  const p = writable[0]!;
  const pointing = config.servers.filter((s) =>
    sourcesOf(state, config, s.name, now).some((x) => x.source === p),
  );
  if (pointing.length === 0 && config.servers.length > 1) {
    return {
      primary: null,
      reason: `${p} is writable but no replica replicates from it`,
      waiting: false,
    };
  }
  return {
    primary: p,
    waiting: false,
    reason: `${p} is the only writable server replicating from no one${
      pointing.length ? `; ${pointing.map((s) => s.name).join(", ")} replicate from it` : ""
    }`,
  };
}
