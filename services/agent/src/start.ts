// startAgent: everything main.ts does except argv and signals — secrets resolved, NATS
// connected (with @marina/runtime's retry policy), the app built and serving — so the
// sandbox and tests can run an agent in-process.
import { readFileSync } from "node:fs";
import { MarinaError, resolveSecret } from "@marina/contracts";
import { kvLeaseSource } from "@marina/lease-fence";
import {
  connectNatsWithRetry,
  createLogger,
  type HttpAddress,
  type Logger,
  natsCredentials,
  type ServiceHttp,
  serveServiceHttp,
} from "@marina/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import { type AgentApp, buildApp, type Clock } from "./app.js";
import { natsBus } from "./bus.js";
import type { AgentConfig, AgentServerConfig } from "./config.js";
import type { ServiceControlFactory } from "./host/service-control.js";
import { natsMajority, topologyReader } from "./self-fence/peers.js";

export interface StartAgentOptions {
  readonly config: AgentConfig;
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Injected stop/start (tests pass the lab's own); default: what the config says. */
  readonly serviceControl?: ServiceControlFactory;
  readonly env?: NodeJS.ProcessEnv;
  /** Stops retrying the first NATS connection (startAgent then rejects with NatsAborted). */
  readonly signal?: AbortSignal;
  /** Where to serve /healthz and /metrics: config.http by default; false for none. */
  readonly http?: HttpAddress | false;
  /** Node's process metrics on /metrics too (main.ts: the agent's own process). */
  readonly defaultMetrics?: boolean;
}

export interface RunningAgent {
  /** The agent's host id (config `host`). */
  readonly host: string;
  readonly app: AgentApp;
  readonly nc: NatsConnection;
  /** `http://host:port` of /healthz and /metrics, when served. */
  readonly httpUrl: string | null;
  stop(): Promise<void>;
}

/** Connects to NATS, builds the agent and starts serving; `stop()` undoes all of it. */
export async function startAgent(o: StartAgentOptions): Promise<RunningAgent> {
  const cfg = o.config;
  const env = o.env ?? process.env;
  const log = o.log ?? createLogger({ service: "agent" });
  // Secrets first: a missing one is a bad config (exit code 2), reported before any
  // connection is tried.
  const credentials = natsCredentials(cfg.nats, env, "agent", cfg.host);
  const backupPassword = cfg.backup.password ? resolveSecret(cfg.backup.password, env) : undefined;
  const nc = await connectNatsWithRetry({
    servers: cfg.nats.servers,
    name: `marina-agent-${cfg.host}`,
    log,
    ...credentials,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  let app: AgentApp;
  try {
    app = buildApp({
      bus: natsBus(nc),
      log,
      config: cfg,
      backupPassword,
      lease: kvLeaseSource(nc, { log }),
      readTopology: topologyReader(nc, 1000),
      natsMajority: natsMajority(nc),
      ...(o.clock ? { clock: o.clock } : {}),
      sshPrivateKey: (s) => sshPrivateKey(s, env),
      ...(o.serviceControl ? { serviceControl: o.serviceControl } : {}),
      ...(o.defaultMetrics ? { defaultMetrics: true } : {}),
    });
    await app.start();
  } catch (err) {
    await nc.close();
    throw err;
  }
  const httpAt = o.http === undefined ? cfg.http : o.http === false ? undefined : o.http;
  let http: ServiceHttp | undefined;
  try {
    if (httpAt) {
      const { registry } = app.metrics;
      http = await serveServiceHttp({
        registry,
        at: httpAt,
        nc,
        log,
        identity: { agent: cfg.host },
      });
    }
  } catch (err) {
    await app.stop();
    await nc.close();
    throw err;
  }
  const httpUrl = http?.url ?? null;
  return {
    host: cfg.host,
    app,
    nc,
    httpUrl,
    async stop() {
      await http?.close();
      await app.stop();
      await nc.drain().catch(() => nc.close());
    },
  };
}

/** The private key of a server served over SSH: its file, or its secret. */
export function sshPrivateKey(s: AgentServerConfig, env: NodeJS.ProcessEnv): string {
  const ssh = s.ssh;
  if (!ssh) throw new MarinaError("NOT_APPLICABLE", `${s.name} is not served over ssh`);
  if (ssh.privateKey) return resolveSecret(ssh.privateKey, env);
  const file = ssh.privateKeyFile!;
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new MarinaError(
      "VALIDATION_FAILED",
      `${s.name}: ssh private key ${file} is not readable`,
      {
        cause: err,
      },
    );
  }
}
