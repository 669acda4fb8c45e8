import type { AgentHeartbeat } from "@marina/contracts/agent";
import {
  type ClusterConfig,
  promotionOf,
  replicationAddressOf,
  type ServerConfig,
} from "@marina/contracts/config";
import {
  type HealthSample,
  type ReplicationConnection,
  ServerObservation,
} from "@marina/contracts/health";
import { check } from "@marina/contracts/parse";
import { freshMs } from "./options.js";
import type { DeciderState, SampleRecord } from "./state.js";

// What decide() knows about servers: the latest samples per monitor, agent heartbeats and
// the results of its own steps, and small queries over them. Recording mutates the (cloned)
// state; queries are pure.

export function serverConfig(config: ClusterConfig, name: string): ServerConfig | undefined {
  return config.servers.find((s) => s.name === name);
}

export function isKnownServer(config: ClusterConfig, name: string): boolean {
  return serverConfig(config, name) !== undefined;
}

export function configIndex(config: ClusterConfig, name: string): number {
  const i = config.servers.findIndex((s) => s.name === name);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function sameHost(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || (LOOPBACK.has(x) && LOOPBACK.has(y));
}

/**
 * The configured server a replication connection points at (by Master_Host/Master_Port):
 * its replication address (`replicationAddress`, else host/port), else its host/port.
 */
export function serverAt(config: ClusterConfig, host: string, port: number): string | null {
  const at = (a: { host: string; port: number }) => a.port === port && sameHost(a.host, host);
  const s =
    config.servers.find((c) => at(replicationAddressOf(c))) ?? config.servers.find((c) => at(c));
  return s ? s.name : null;
}

interface Addressed {
  masterHost: string;
  masterPort: number;
}

export function sourceOf(config: ClusterConfig, conn: Addressed): string | null {
  return serverAt(config, conn.masterHost, conn.masterPort);
}

/** The connections of an observation that replicate from `source`. */
export function connectionsTo<C extends Addressed>(
  config: ClusterConfig,
  observation: { replication: readonly C[] },
  source: string,
): C[] {
  return observation.replication.filter((c) => sourceOf(config, c) === source);
}

export function recordSample(
  state: DeciderState,
  config: ClusterConfig,
  sample: HealthSample,
  now: number,
): boolean {
  if (sample.cluster !== state.cluster || !isKnownServer(config, sample.server)) return false;
  const perMonitor = state.samples[sample.server] ?? {};
  const have = perMonitor[sample.monitor];
  // A late, older probe must not overwrite a newer one; a restarted monitor counts from 0
  // again, so an old record that went stale no longer wins.
  if (have && have.sample.probe > sample.probe && now - have.receivedAt <= freshMs(config)) {
    return false;
  }
  perMonitor[sample.monitor] = { sample, receivedAt: now };
  state.samples[sample.server] = perMonitor;
  if (reachability(state, config, sample.server, now) === "unreachable") {
    state.downSince[sample.server] ??= now;
  } else {
    delete state.downSince[sample.server];
  }
  const obs = sample.observation;
  if (sample.reachable && obs) {
    const changed = state.stepContact[sample.server];
    // A probe still running when our change landed may have read the server before it.
    const takenAt = now - Math.ceil(sample.latencyMs ?? 0);
    if (changed === undefined || takenAt > changed) delete state.expectedSources[sample.server];
    state.lastObservation[sample.server] = {
      observation: obs,
      at: now,
      monitor: sample.monitor,
      takenAt,
    };
    // A read_only=0 we sent and have no answer for may still land: a sample saying
    // read-only (perhaps taken before it) does not clear it until well after.
    const have = state.readOnly[sample.server];
    const keepPending = have?.pending === true && obs.readOnly && now - have.at <= freshMs(config);
    if (!keepPending) {
      state.readOnly[sample.server] = {
        readOnly: obs.readOnly,
        at: now,
        by: "sample",
        pending: false,
      };
    }
    const lags = state.lastLag[sample.server] ?? {};
    for (const c of obs.replication) {
      if (c.secondsBehindMaster !== null) lags[c.connection] = c.secondsBehindMaster;
    }
    state.lastLag[sample.server] = lags;
    recordDelays(state, sample.server, obs.replication);
  }
  return true;
}

/**
 * A sample's SQL_Delay per connection. A sample without the field (a monitor of the previous
 * release) leaves what is known; a server with no connection has no delay.
 */
function recordDelays(
  state: DeciderState,
  server: string,
  replication: readonly ReplicationConnection[],
) {
  if (replication.length > 0 && replication.every((c) => c.sqlDelay === undefined)) return;
  const delays = { ...state.delays };
  const mine: Record<string, number> = {};
  for (const c of replication) if (c.sqlDelay) mine[c.connection] = c.sqlDelay;
  if (Object.keys(mine).length > 0) delays[server] = mine;
  else delete delays[server];
  state.delays = delays;
}

/**
 * The `monitor` of an observation read by our own `inspect` step (not a monitor name: those
 * are SAFE_NAMEs without parentheses).
 */
export const INSPECTED = "(inspect)";

/**
 * Records what our own `inspect` step read as the server's latest observation: taken after
 * every change our steps made before it, so it is the freshest knowledge there is until a
 * monitor's next sample. Returns false when the data does not fit the contract.
 */
export function recordInspection(
  state: DeciderState,
  server: string,
  data: Record<string, unknown>,
  now: number,
): boolean {
  const r = check(ServerObservation, data);
  if (!r.ok) return false;
  const obs = r.value;
  state.lastObservation[server] = { observation: obs, at: now, monitor: INSPECTED, takenAt: now };
  state.readOnly[server] = { readOnly: obs.readOnly, at: now, by: "step", pending: false };
  const lags = state.lastLag[server] ?? {};
  for (const c of obs.replication) {
    if (c.secondsBehindMaster !== null) lags[c.connection] = c.secondsBehindMaster;
  }
  state.lastLag[server] = lags;
  // It shows the sources as they are: no longer only expected.
  delete state.expectedSources[server];
  return true;
}

export function recordHeartbeat(state: DeciderState, heartbeat: AgentHeartbeat, now: number) {
  state.heartbeats[heartbeat.host] = { heartbeat, receivedAt: now };
}

export function recentSamples(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): SampleRecord[] {
  const limit = freshMs(config);
  return Object.values(state.samples[server] ?? {})
    .filter((r) => now - r.receivedAt <= limit)
    .sort((a, b) => a.sample.monitor.localeCompare(b.sample.monitor));
}

export type Reachability = "reachable" | "unreachable" | "unknown";

/** Reachable when any monitor reached it lately; unreachable when every recent sample failed. */
export function reachability(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): Reachability {
  const recent = recentSamples(state, config, server, now);
  if (recent.length === 0) return "unknown";
  return recent.some((r) => r.sample.reachable) ? "reachable" : "unreachable";
}

/** The latest observation of a server that is reachable now; null otherwise. */
export function currentObservation(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): ServerObservation | null {
  if (reachability(state, config, server, now) !== "reachable") return null;
  const rec = state.lastObservation[server];
  return rec && now - rec.at <= freshMs(config) ? rec.observation : null;
}

/**
 * MASTER_DELAY (SQL_Delay) per server and connection, as the monitors last reported it
 * however old (a delay is configuration, not state): only the monitors report it, an
 * executor's inspection does not (state.delays). Connections without a delay are left out.
 */
export function replicationDelays(
  state: DeciderState,
): Readonly<Record<string, Readonly<Record<string, number>>>> {
  return state.delays ?? {};
}

/**
 * Why `server` is never promoted (promotion never, or a delayed replica), or null. Such a
 * server must not be a semi-sync replica: a write only it acknowledged could be lost with
 * the promotion of another (a delayed one cannot even serve it: it waits in its relay log).
 */
export function neverPromoted(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
): string | null {
  const cfg = serverConfig(config, server);
  if (cfg && promotionOf(cfg) === "never") {
    return cfg.neverPromote ? "it has neverPromote" : "its promotion is never";
  }
  const delays = Object.values(replicationDelays(state)[server] ?? {});
  return delays.length > 0
    ? `it is a delayed replica (MASTER_DELAY ${Math.max(...delays)} s)`
    : null;
}

/** Current Seconds_Behind_Master, or the last value seen before it turned null. */
export function lagOf(
  state: DeciderState,
  server: string,
  conn: ReplicationConnection,
): number | null {
  return conn.secondsBehindMaster ?? state.lastLag[server]?.[conn.connection] ?? null;
}

/** A fresh agent heartbeat says mariadbd of `server` is not running. */
export function agentSaysDown(
  state: DeciderState,
  server: string,
  now: number,
  agentFreshMs: number,
): string | null {
  for (const [host, rec] of Object.entries(state.heartbeats).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (now - rec.receivedAt > agentFreshMs) continue;
    const entry = rec.heartbeat.servers.find((s) => s.name === server);
    if (entry && !entry.mariadbdRunning) return host;
  }
  return null;
}

/**
 * Proof of contact lately: a monitor reached it, or one of our steps on it succeeded since.
 * Used by the write guard, which must err towards "reachable".
 */
export function maybeReachable(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): boolean {
  const recent = recentSamples(state, config, server, now);
  if (recent.some((r) => r.sample.reachable)) return true;
  const contact = state.stepContact[server];
  if (contact === undefined || now - contact > freshMs(config)) return false;
  // A failed probe after our last contact wins: the server went away since.
  const lastFailure = Math.max(-1, ...recent.map((r) => r.receivedAt));
  return contact > lastFailure;
}

/** Writable as far as we know: the later of the last sample and our own last step says so. */
export function knownWritable(state: DeciderState, server: string): boolean {
  const r = state.readOnly[server];
  return r !== undefined && !r.readOnly;
}

/** Writable and confirmed (not only asked for): where writers may be sent. */
export function confirmedWritable(state: DeciderState, server: string): boolean {
  const r = state.readOnly[server];
  return r !== undefined && !r.readOnly && !r.pending;
}

/**
 * False while the latest sample of a server predates our last successful step on it: that
 * sample shows the server as it was before we changed it, so nothing is decided from it.
 * A sample counts from when its probe began (receipt minus the probe's latency: a probe
 * in flight across our change may have read the server before it); our own inspection
 * counts from the moment its answer came (it ran after our changes).
 */
export function observedSinceChange(state: DeciderState, server: string): boolean {
  const changed = state.stepContact[server];
  const seen = state.lastObservation[server];
  if (changed === undefined) return true;
  if (seen === undefined) return false;
  if (seen.monitor === INSPECTED) return seen.at >= changed;
  return (seen.takenAt ?? seen.at) > changed;
}
