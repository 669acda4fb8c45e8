import type {
  ClusterConfig,
  FailoverSettings,
  MarinaConfig,
  MonitorSettings,
  NatsRole,
} from "@marina/contracts";
import {
  ClusterConfig as ClusterConfigSchema,
  MarinaConfig as MarinaConfigSchema,
} from "@marina/contracts";
import type { Lab, LabNatsUsers } from "@marina/lab";
import { natsCredentials } from "@marina/runtime";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface LabConfigOptions {
  cluster?: string;
  /** false, true or "strict" (strict durability, see docs/operations.md). */
  semiSync?: boolean | "strict";
  monitor?: Partial<MonitorSettings>;
  failover?: Partial<FailoverSettings>;
  neverPromote?: string[];
  /** servers[].promotion per server name (prefer, neutral, preferNot, never). */
  promotion?: Record<string, "prefer" | "neutral" | "preferNot" | "never">;
  /** Agent host id per server name (servers[].agentHost). */
  agentHosts?: Record<string, string>;
  http?: { host: string; port: number };
  /** The deciders' HTTP API (config `api`; port 0: each decider a free port). */
  api?: Record<string, unknown>;
  /** The cluster's hooks and veto subject (config `clusters[].hooks`). */
  hooks?: Record<string, unknown>;
  /** Where executors save diverged servers' binlogs (config `clusters[].saveBinlogs`). */
  saveBinlogs?: Record<string, unknown>;
}

/** The Marina config that describes a running lab (validated like a user's file). */
export function configFromLab(lab: Lab, o: LabConfigOptions = {}): MarinaConfig {
  const creds = lab.credentials;
  const cluster: ClusterConfig = ClusterConfigSchema.parse({
    name: o.cluster ?? "main",
    servers: lab.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      // In containers replicas reach a server by its network alias, Marina by a mapped port.
      ...(n.replicationHost !== n.host || n.replicationPort !== n.port
        ? { replicationAddress: { host: n.replicationHost, port: n.replicationPort } }
        : {}),
      datadir: n.datadir,
      neverPromote: (o.neverPromote ?? []).includes(n.name),
      ...(o.promotion?.[n.name] ? { promotion: o.promotion[n.name] } : {}),
      ...(o.agentHosts?.[n.name] ? { agentHost: o.agentHosts[n.name] } : {}),
    })),
    // Least privilege: the executors' grants for admin, read-only ones for the monitor.
    admin: { user: creds.marina.user, password: { value: creds.marina.password } },
    monitorAccount: { user: creds.monitor.user, password: { value: creds.monitor.password } },
    replication: { user: creds.repl.user, password: { value: creds.repl.password } },
    semiSync: o.semiSync ?? false,
    // A TLS lab: Marina's connections and replication over TLS, certificates verified.
    ...(lab.tls ? { tls: { ca: lab.tls.caFile, replicationCa: lab.tls.hostsCaFile } } : {}),
    monitor: o.monitor ?? {},
    failover: o.failover ?? {},
    ...(o.hooks ? { hooks: o.hooks } : {}),
    ...(o.saveBinlogs ? { saveBinlogs: o.saveBinlogs } : {}),
  });
  return MarinaConfigSchema.parse({
    nats: {
      // Every server of the lab's NATS (all nodes of a NATS cluster).
      servers: lab.natsUrls.length > 0 ? [...lab.natsUrls] : ["nats://127.0.0.1:4222"],
      // Each service under its own identity, with only that role's permissions.
      ...(lab.natsUsers ? { credentials: natsCredentialsOf(lab.natsUsers) } : {}),
      ...(lab.tls ? { tls: { ca: lab.tls.caFile } } : {}),
    },
    clusters: [cluster],
    ...(o.http ? { http: o.http } : {}),
    ...(o.api ? { api: o.api } : {}),
  });
}

/** `nats.credentials` of a Marina config: every role's lab user. */
export function natsCredentialsOf(users: LabNatsUsers): Record<string, unknown> {
  const roles = ["monitor", "decider", "executor", "operator", "observer"] as const;
  return Object.fromEntries(
    roles.map((r) => [r, { user: users[r].user, password: { value: users[r].password } }]),
  );
}

/**
 * A plain NATS connection (no retry) under `role`'s identity from `config` — for tests that
 * run a service on a connection of their own.
 */
export function connectAs(
  config: MarinaConfig,
  role: NatsRole,
  name: string,
): Promise<NatsConnection> {
  return connect({
    servers: [...config.nats.servers],
    name,
    ...natsCredentials(config.nats, process.env, role),
  });
}
