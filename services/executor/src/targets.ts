import {
  type HooksSettings,
  type MarinaConfig,
  resolveSecret,
  type SaveBinlogsSettings,
} from "@marina/contracts";
import type { DbTls } from "@marina/mariadb";
import { readTlsFiles } from "@marina/runtime";
import type { DbTarget } from "./db.js";

export interface Account {
  readonly user: string;
  readonly password: string;
}

export interface ResolvedServer {
  readonly name: string;
  /** Where the executor connects. */
  readonly host: string;
  readonly port: number;
  /** Where replicas connect to replicate from it (MASTER_HOST/MASTER_PORT), if not host/port. */
  readonly replicationAddress?: { readonly host: string; readonly port: number };
}

export interface ResolvedCluster {
  readonly name: string;
  readonly servers: ReadonlyMap<string, ResolvedServer>;
  /** Account the executor connects with. */
  readonly admin: Account;
  /** Account replicas use in CHANGE MASTER. */
  readonly replication: Account;
  /** The monitor's own account, if the config gives one: its sessions are never clients. */
  readonly monitorUser?: string;
  /** TLS of the executor's own connections (PEM texts, read at start). */
  readonly tls?: DbTls;
  /** Replication over TLS: MASTER_SSL_CA, a path on the database hosts. */
  readonly replicationCa?: string;
  /** The hook programs this executor may run for the cluster (run-hook names one). */
  readonly hooks: HooksSettings;
  /** Where save-binlogs saves (clusters[].saveBinlogs); absent: the step is refused. */
  readonly saveBinlogs?: SaveBinlogsSettings;
  /** The TLS files' paths, for mariadb-binlog's option file. */
  readonly tlsFiles?: { ca: string; cert?: string | undefined; key?: string | undefined };
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
  for (const [i, c] of config.clusters.entries()) {
    out.set(c.name, {
      ...(c.tls
        ? {
            tls: readTlsFiles(c.tls, `clusters.${i}.tls`),
            replicationCa: c.tls.replicationCa ?? c.tls.ca,
          }
        : {}),
      name: c.name,
      hooks: c.hooks,
      ...(c.saveBinlogs ? { saveBinlogs: c.saveBinlogs } : {}),
      ...(c.tls ? { tlsFiles: { ca: c.tls.ca, cert: c.tls.cert, key: c.tls.key } } : {}),
      servers: new Map(
        c.servers.map((s) => [
          s.name,
          {
            name: s.name,
            host: s.host,
            port: s.port,
            ...(s.replicationAddress ? { replicationAddress: s.replicationAddress } : {}),
          },
        ]),
      ),
      admin: { user: c.admin.user, password: resolveSecret(c.admin.password, env) },
      replication: {
        user: c.replication.user,
        password: resolveSecret(c.replication.password, env),
      },
      ...(c.monitorAccount ? { monitorUser: c.monitorAccount.user } : {}),
    });
  }
  return out;
}

/** Where and as whom the executor connects to `server`. */
export function dbTargetOf(cluster: ResolvedCluster, server: ResolvedServer): DbTarget {
  return {
    host: server.host,
    port: server.port,
    user: cluster.admin.user,
    password: cluster.admin.password,
    label: `${server.name} (${server.host}:${server.port})`,
    tls: cluster.tls,
  };
}
