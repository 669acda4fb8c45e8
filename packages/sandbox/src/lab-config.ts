import type {
  ClusterConfig,
  FailoverSettings,
  MarinaConfig,
  MonitorSettings,
} from "@marina/contracts";
import {
  ClusterConfig as ClusterConfigSchema,
  MarinaConfig as MarinaConfigSchema,
} from "@marina/contracts";
import type { Lab } from "@marina/lab";

export interface LabConfigOptions {
  cluster?: string;
  semiSync?: boolean;
  monitor?: Partial<MonitorSettings>;
  failover?: Partial<FailoverSettings>;
  neverPromote?: string[];
  /** Agent host id per server name (servers[].agentHost). */
  agentHosts?: Record<string, string>;
  http?: { host: string; port: number };
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
      datadir: n.datadir,
      neverPromote: (o.neverPromote ?? []).includes(n.name),
      ...(o.agentHosts?.[n.name] ? { agentHost: o.agentHosts[n.name] } : {}),
    })),
    admin: { user: creds.marina.user, password: { value: creds.marina.password } },
    replication: { user: creds.repl.user, password: { value: creds.repl.password } },
    semiSync: o.semiSync ?? false,
    monitor: o.monitor ?? {},
    failover: o.failover ?? {},
  });
  return MarinaConfigSchema.parse({
    // Every server of the lab's NATS (all nodes of a NATS cluster).
    nats: { servers: lab.natsUrls.length > 0 ? [...lab.natsUrls] : ["nats://127.0.0.1:4222"] },
    clusters: [cluster],
    ...(o.http ? { http: o.http } : {}),
  });
}
