// The monitor as a testable unit: probers per configured server, the publish path
// (validate → envelope → NATS), observed-topology derivation per cluster, and the HTTP
// endpoints. No process-level concerns (config files, signals, NATS connect) live here.
import {
  envelope,
  HealthMessage,
  type HealthSample,
  type MarinaConfig,
  MarinaError,
  mustParse,
  type ObservedTopology,
  ObservedTopologyMessage,
  resolveSecret,
  type Secret,
  subjects,
} from "@marina/contracts";
import {
  type Connector,
  checkPrivileges,
  connectMariadb,
  type DbTarget,
  MONITOR_NEEDS,
  type PrivilegeCheckResult,
  readGrantsAt,
} from "@marina/mariadb";
import { type Logger, readTlsFiles, serveMetrics, systemClock } from "@marina/runtime";
import Fastify, { type FastifyInstance } from "fastify";
import { MonitorMetrics } from "./metrics.js";
import { type Clock, ServerProber, socketTimeoutFor } from "./prober.js";
import { type ConfiguredServer, deriveTopology, sameTopology } from "./topology.js";

/** What the app needs from NATS; core publish lands in the JetStream stream too. */
export interface Bus {
  publish(subject: string, data: Uint8Array): void;
  isConnected(): boolean;
}

export interface AppDeps {
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly config: MarinaConfig;
  readonly monitorId: string;
  /** Opens MariaDB connections; the real connector by default. */
  readonly connect?: Connector;
  /** Where `{ env: NAME }` secrets are looked up; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Node's process metrics on /metrics too (the monitor's own process: main.ts). */
  readonly defaultMetrics?: boolean;
}

export interface ServerStatus {
  readonly server: string;
  readonly running: boolean;
  readonly latest: HealthSample | null;
}

export interface MonitorApp {
  readonly monitorId: string;
  /** Envelope `source` of every message this monitor publishes. */
  readonly source: string;
  readonly http: FastifyInstance;
  readonly metrics: MonitorMetrics;
  readonly running: boolean;
  start(): void;
  stop(): Promise<void>;
  latest(cluster: string, server: string): HealthSample | undefined;
  topology(cluster: string): ObservedTopology | undefined;
  /** True when NATS is connected and every prober runs. */
  healthy(): boolean;
  /**
   * Reads the probing account's grants on every server once and logs what is missing
   * (MONITOR_NEEDS); a server out of reach is skipped with a note. Never rejects.
   */
  checkPrivileges(): Promise<PrivilegeCheckResult[]>;
}

interface ClusterState {
  readonly name: string;
  readonly servers: readonly ConfiguredServer[];
  readonly probers: Map<string, ServerProber>;
  /** Where and as whom each server is probed. */
  readonly targets: Map<string, DbTarget>;
  readonly samples: Map<string, HealthSample>;
  topology: ObservedTopology | undefined;
}

const encoder = new TextEncoder();

/**
 * When a server is lost, the other servers of its cluster are probed again at these delays
 * (ms). A killed primary's replicas show the IO thread down within tens of ms; without the
 * burst that evidence waited for the next regular probe (intervalMs later).
 */
export const REPROBE_AFTER_LOSS_MS: readonly number[] = [0, 20, 50, 100, 200, 400];

export function sourceOf(monitorId: string): string {
  return `monitor/${monitorId}`;
}

export function buildApp(deps: AppDeps): MonitorApp {
  const { bus, log, config, monitorId } = deps;
  const clock = deps.clock ?? systemClock;
  const connect = deps.connect ?? connectMariadb;
  const source = sourceOf(monitorId);
  const metrics = new MonitorMetrics(() => bus.isConnected(), {
    defaultMetrics: deps.defaultMetrics ?? false,
  });
  const clusters = new Map<string, ClusterState>();
  let started = false;
  let stopped = false;
  let publishFailures = 0;

  function publish(
    cluster: string,
    type: "health" | "observed-topology",
    subject: string,
    message: unknown,
  ): void {
    try {
      const valid = mustParse(type === "health" ? HealthMessage : ObservedTopologyMessage, message);
      bus.publish(subject, encoder.encode(JSON.stringify(valid)));
      metrics.published.inc({ cluster, type });
    } catch (err) {
      metrics.publishErrors.inc({ cluster, type });
      // A closed connection fails every publish; log the first and then every 100th.
      if (publishFailures++ % 100 === 0) {
        const e = err instanceof MarinaError ? { code: err.code, path: err.path } : {};
        log.error({ cluster, type, err, ...e, failures: publishFailures }, "publish failed");
      }
    }
  }

  function onSample(state: ClusterState, sample: HealthSample): void {
    const labels = { cluster: state.name, server: sample.server };
    metrics.probes.inc(labels);
    metrics.up.set(labels, sample.reachable ? 1 : 0);
    metrics.consecutiveFailures.set(labels, sample.consecutiveFailures);
    if (sample.reachable && sample.latencyMs !== null) {
      metrics.probeDuration.observe(labels, sample.latencyMs / 1000);
    }
    if (sample.error) metrics.probeFailures.inc({ ...labels, kind: sample.error.kind });

    const before = state.samples.get(sample.server);
    state.samples.set(sample.server, sample);
    publish(
      state.name,
      "health",
      subjects.health(state.name, sample.server),
      envelope("health", source, sample),
    );

    // The decider needs fresh evidence from the replicas the moment a server is lost, and
    // their IO threads notice it a little later than we do: probe the others a few times in
    // quick succession. Servers already down are left to their schedule (their repeated
    // failures would only count up consecutiveFailures faster).
    if (before?.reachable && !sample.reachable) {
      for (const [name, p] of state.probers) {
        if (name !== sample.server && state.samples.get(name)?.reachable) {
          p.probeBurst(REPROBE_AFTER_LOSS_MS);
        }
      }
    }

    // Topology needs every server seen at least once, or it would flap during start-up.
    if (state.samples.size < state.servers.length) return;
    const topology = deriveTopology({
      cluster: state.name,
      monitor: monitorId,
      servers: state.servers,
      samples: state.samples,
    });
    if (sameTopology(state.topology, topology)) return;
    state.topology = topology;
    log.info({ cluster: state.name, topology: summary(topology) }, "observed topology changed");
    publish(
      state.name,
      "observed-topology",
      subjects.observed(state.name),
      envelope("observed-topology", source, topology),
    );
  }

  config.clusters.forEach((c, ci) => {
    // Read once: an unreadable CA fails the start, naming the setting.
    const tls = c.tls ? readTlsFiles(c.tls, `clusters.${ci}.tls`) : undefined;
    // The monitor's own read-only account when the config has one, else the admin account.
    const key = c.monitorAccount ? "monitorAccount" : "admin";
    const account = c.monitorAccount ?? c.admin;
    // A missing env var fails here, before anything starts, naming the field and variable.
    const password = secretAt(`clusters.${ci}.${key}.password`, account.password, deps.env);
    const state: ClusterState = {
      name: c.name,
      servers: c.servers.map((s) => ({
        name: s.name,
        host: s.host,
        port: s.port,
        ...(s.replicationAddress ? { replicationAddress: s.replicationAddress } : {}),
      })),
      probers: new Map(),
      targets: new Map(),
      samples: new Map(),
      topology: undefined,
    };
    for (const s of c.servers) {
      const target: DbTarget = {
        host: s.host,
        port: s.port,
        user: account.user,
        password,
        connectTimeoutMs: c.monitor.connectTimeoutMs,
        socketTimeoutMs: socketTimeoutFor(c.monitor),
        // The probe is constant SQL sent as one round trip (see @marina/mariadb probeSql).
        multipleStatements: true,
        tls,
      };
      state.targets.set(s.name, target);
      const prober = new ServerProber({
        id: { cluster: c.name, server: s.name, monitor: monitorId, host: s.host, port: s.port },
        target,
        settings: c.monitor,
        connect,
        clock,
        log: log.child({ cluster: c.name, server: s.name }),
        onSample: (sample) => onSample(state, sample),
      });
      state.probers.set(s.name, prober);
    }
    clusters.set(c.name, state);
  });

  const allProbers = () => [...clusters.values()].flatMap((c) => [...c.probers.values()]);
  const healthy = () =>
    bus.isConnected() && allProbers().length > 0 && allProbers().every((p) => p.running);

  const http = Fastify({ logger: false });
  http.get("/healthz", async (_req, reply) => {
    const probers = allProbers();
    const body = {
      status: healthy() ? "ok" : "unavailable",
      monitor: monitorId,
      nats: bus.isConnected(),
      probers: { running: probers.filter((p) => p.running).length, total: probers.length },
    };
    return reply.code(healthy() ? 200 : 503).send(body);
  });
  serveMetrics(http, metrics.registry);
  http.get("/status", async () => ({
    monitor: monitorId,
    clusters: [...clusters.values()].map((c) => ({
      cluster: c.name,
      topology: c.topology ?? null,
      servers: c.servers.map(
        (s): ServerStatus => ({
          server: s.name,
          running: c.probers.get(s.name)?.running ?? false,
          latest: c.samples.get(s.name) ?? null,
        }),
      ),
    })),
  }));

  return {
    monitorId,
    source,
    http,
    metrics,
    get running() {
      return started && !stopped;
    },
    start() {
      if (started) return;
      started = true;
      for (const p of allProbers()) p.start();
      log.info({ monitor: monitorId, probers: allProbers().length }, "probers started");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(allProbers().map((p) => p.stop()));
      await http.close();
    },
    latest: (cluster, server) => clusters.get(cluster)?.samples.get(server),
    topology: (cluster) => clusters.get(cluster)?.topology,
    healthy,
    checkPrivileges: () =>
      checkPrivileges(
        "monitor",
        [...clusters.values()].flatMap((c) =>
          [...c.targets].map(([server, target]) => ({
            server,
            labels: { cluster: c.name },
            user: target.user,
            read: () => readGrantsAt(connect, target),
          })),
        ),
        MONITOR_NEEDS,
        log,
      ),
  };
}

/** resolveSecret, with the config path of the secret in the error. */
export function secretAt(path: string, secret: Secret, env?: NodeJS.ProcessEnv): string {
  try {
    return resolveSecret(secret, env);
  } catch (err) {
    if (!(err instanceof MarinaError)) throw err;
    throw new MarinaError(err.code, `${path}: ${err.message}`, { path, cause: err });
  }
}

/** A one-line view of a topology for logs. */
function summary(t: ObservedTopology) {
  return {
    primaries: t.primaries,
    replicas: t.replicas,
    relays: t.relays,
    unreachable: t.unreachable,
    broken: t.brokenLinks.map((l) => `${l.replica}/${l.connection}`),
  };
}
