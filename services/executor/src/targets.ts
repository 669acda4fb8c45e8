import { type MarinaConfig, resolveSecret } from "@marina/contracts";

export interface Account {
  readonly user: string;
  readonly password: string;
}

export interface ResolvedServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface ResolvedCluster {
  readonly name: string;
  readonly servers: ReadonlyMap<string, ResolvedServer>;
  /** Account the executor connects with. */
  readonly admin: Account;
  /** Account replicas use in CHANGE MASTER. */
  readonly replication: Account;
}

/**
 * The clusters an executor serves, with secrets resolved once at start so a missing
 * environment variable fails the start, not the first failover.
 */
export function resolveClusters(
  config: MarinaConfig,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, ResolvedCluster> {
  const out = new Map<string, ResolvedCluster>();
  for (const c of config.clusters) {
    out.set(c.name, {
      name: c.name,
      servers: new Map(
        c.servers.map((s) => [s.name, { name: s.name, host: s.host, port: s.port }]),
      ),
      admin: { user: c.admin.user, password: resolveSecret(c.admin.password, env) },
      replication: {
        user: c.replication.user,
        password: resolveSecret(c.replication.password, env),
      },
    });
  }
  return out;
}
