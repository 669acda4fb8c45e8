import { z } from "zod";
import { HooksSettings } from "./hooks.js";
import { Address, ClusterName, HostName, Port, ServerName } from "./names.js";
import { retired } from "./retired.js";

// One configuration file (YAML or JSON) serves every service: each reads the sections it
// needs. Secrets may be given inline or, better, as the name of an environment variable.

export const Secret = z.union([
  z.strictObject({ value: z.string().max(1024) }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name") }),
]);

/** An absolute path of a file Marina reads (a CA, a certificate, a key). */
export const FilePath = z.string().min(2).max(1024).regex(/^\//, "must be an absolute path");

export const Credentials = z.strictObject({
  user: z.string().min(1).max(80),
  password: Secret,
});

const SSH_MOVED =
  "removed: the decider no longer reaches hosts over SSH. A server on such a host is served by an agent in SSH mode (the agent config's servers[].ssh holds the key, the host key fingerprint and the backup account), named by the server's agentHost; see docs/configuration.md";

/** Promotion rules (docs/configuration.md, "Promotion rules"). */
export const Promotion = z.enum(["prefer", "neutral", "preferNot", "never"]);
export type Promotion = z.infer<typeof Promotion>;

export const ServerConfig = z
  .strictObject({
    name: ServerName,
    host: Address,
    port: Port.default(3306),
    /**
     * Where the other servers reach this one to replicate from it (their MASTER_HOST and
     * MASTER_PORT), when that differs from `host`/`port` (where Marina connects): behind NAT,
     * a port mapping, or in containers (a network alias inside, a mapped port outside).
     */
    replicationAddress: z.strictObject({ host: Address, port: Port.default(3306) }).optional(),
    /**
     * Host id of the agent that serves this server: on its machine, or over SSH (one agent
     * may serve several servers; each names it here).
     */
    agentHost: HostName.optional(),
    datadir: z.string().max(1024).optional(),
    /** Never choose this server as a failover or switchover target (`promotion: never`). */
    neverPromote: z.boolean().default(false),
    /**
     * How Marina ranks this server among candidates of equal GTID position (the most
     * advanced always comes first): prefer, neutral (default), preferNot; never = neverPromote.
     */
    promotion: Promotion.optional(),
    /** A datacenter label, for failover.crossDatacenter; servers without one share "". */
    datacenter: z.string().min(1).max(64).optional(),
    /** Removed: SSH settings live in the config of the agent that serves the server. */
    ssh: retired(SSH_MOVED),
  })
  .refine((s) => !s.neverPromote || s.promotion === undefined || s.promotion === "never", {
    message: "neverPromote: true contradicts promotion; keep one (promotion: never)",
    path: ["promotion"],
  });

/** Where replicas connect to replicate from `s`: `replicationAddress`, else `host`/`port`. */
export function replicationAddressOf(
  s: Pick<ServerConfig, "host" | "port" | "replicationAddress">,
): { host: string; port: number } {
  return s.replicationAddress ?? { host: s.host, port: s.port };
}

/** The server's promotion rule: `promotion`, or never with neverPromote, else neutral. */
export function promotionOf(s: Pick<ServerConfig, "neverPromote" | "promotion">): Promotion {
  return s.neverPromote ? "never" : (s.promotion ?? "neutral");
}

export const MonitorSettings = z.strictObject({
  intervalMs: z.number().int().min(50).max(60_000).default(500),
  connectTimeoutMs: z.number().int().min(50).max(60_000).default(500),
  /** An open connection that does not answer within this is declared unreachable. */
  queryTimeoutMs: z.number().int().min(50).max(60_000).default(1000),
  backoffMinMs: z.number().int().min(10).max(60_000).default(100),
  backoffMaxMs: z.number().int().min(10).max(300_000).default(2000),
});

export const FailoverSettings = z.strictObject({
  auto: z.boolean().default(true),
  /** Consecutive failed probes before the monitor's side of the evidence counts. */
  failuresBeforeDead: z.number().int().min(1).max(100).default(1),
  /** A replica that heard nothing from the primary for this long has lost it. */
  replicaQuietMs: z.number().int().min(100).max(600_000).default(3000),
  cooldownMs: z.number().int().min(0).default(60_000),
  windowMs: z.number().int().min(1000).default(3_600_000),
  maxPerWindow: z.number().int().min(1).default(3),
  /** Candidates lagging more than this (Seconds_Behind_Master) are not promoted. */
  maxLagSeconds: z.number().int().min(0).default(30),
  /** Refuse automatic failover unless semi-sync was in sync before the primary died. */
  requireSemiSync: z.boolean().default(false),
  /**
   * STONITH: before a failover promotes, the failed primary's host agent (when it still
   * answers and says mariadbd runs: frozen, or cut off from the others) SIGKILLs it, so it
   * can never acknowledge another write. Needs an agent on the server's host (`agentHost`).
   */
  stonith: z.boolean().default(true),
  enforceReadOnly: z.boolean().default(true),
  /**
   * Turn writes back on (read_only=0) on the primary Marina holds authoritative when it is
   * found read-only — typically restarted with read_only=ON in its configuration — once no
   * other server is writable and no server has a transaction it lacks (see
   * docs/operations.md). Off: an operator does it.
   */
  restoreWrites: z.boolean().default(true),
  autoRejoin: z.boolean().default(true),
  autoRebuild: z.boolean().default(false),
  /**
   * A diverged server whose extra transactions can be undone (row events with full images,
   * no DDL) is flashed back and rejoined once clusters[].saveBinlogs saved them; otherwise
   * (or when the flashback failed) autoRebuild applies. Needs saveBinlogs.
   */
  autoFlashback: z.boolean().default(false),
  drainTimeoutMs: z.number().int().min(100).default(30_000),
  /**
   * Candidates in another datacenter than the failed primary's: allow (a local one first
   * among equals), onlyIfNoLocal (only when no local replica can be promoted), never.
   */
  crossDatacenter: z.enum(["allow", "onlyIfNoLocal", "never"]).default("allow"),
  /**
   * After every server went down at once: waitForPrimary (the default) promotes only a
   * server holding everything the last primary was seen to have, else waits for it (an
   * operator's failover with acceptLoss overrides); promoteMostAdvancedMayLoseWrites fails
   * over to the most advanced server that returned, losing what only the last primary had.
   */
  allDown: z.enum(["waitForPrimary", "promoteMostAdvancedMayLoseWrites"]).default("waitForPrimary"),
});

/** Switchover pre-checks (a switchover with `force` skips them). */
export const SwitchoverSettings = z.strictObject({
  /** Refuse a target lagging more than this (Seconds_Behind_Master). */
  maxLagSeconds: z.number().int().min(0).default(30),
  /**
   * Refuse while the primary runs a transaction open longer than this: the demotion's fence
   * kills its session and the transaction rolls back (information_schema.INNODB_TRX, as the
   * monitor samples it).
   */
  maxTransactionSeconds: z.number().int().min(0).default(60),
});

/**
 * Where an executor saves a diverged server's extra transactions (docs/configuration.md,
 * "clusters[].saveBinlogs"). Unset: nothing is saved.
 */
export const SaveBinlogsSettings = z.strictObject({
  /**
   * A directory on every executor's host; each save is a new folder
   * `<dir>/<cluster>-<server>-<time>-<opId>/` that is never reused.
   */
  dir: FilePath,
  /**
   * Reserved replication server id of the dump connection (mariadb-binlog
   * --stop-never-slave-server-id): never give it to a server. Measured on 10.11: the one-shot
   * dump Marina runs registers as server id 0 and kicks no replica out; the id is passed so
   * that a dump that follows the log can never take a replica's place.
   */
  dumpServerId: z.number().int().min(1).max(4294967295).default(4294967001),
  /** The mariadb-binlog program (a path or a name on PATH). */
  program: z.string().min(1).max(1024).default("mariadb-binlog"),
  /**
   * The mariadb client program a flashback applies the reverse with (a path or a name on
   * PATH; default `mariadb`).
   */
  client: z.string().min(1).max(1024).optional(),
  /** How long one save may take (dump and decode); a flashback gets as long. */
  timeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
});
export type SaveBinlogsSettings = z.infer<typeof SaveBinlogsSettings>;

export const ClusterConfig = z.strictObject({
  name: ClusterName,
  servers: z.array(ServerConfig).min(1).max(64),
  /**
   * Account the executors use, and the monitor when `monitorAccount` is not set: the
   * executor's grants (docs/security.md, "MariaDB accounts").
   */
  admin: Credentials,
  /** Account the monitor probes with (read-only grants); `admin` when not set. */
  monitorAccount: Credentials.optional(),
  /** Account replicas use in CHANGE MASTER. */
  replication: Credentials,
  /**
   * TLS to the database servers: Marina's own connections verify the server's certificate
   * (name included) against `ca`; replication is set up with MASTER_SSL=1 and the source's
   * certificate verified against `replicationCa` (a path on the database hosts; default
   * `ca`). Without it, plain TCP (docs/security.md).
   */
  tls: z
    .strictObject({
      /** PEM file of the CA that signed the servers' certificates (read by Marina's services). */
      ca: FilePath,
      /** Client certificate and key (PEM files), for servers that require one (REQUIRE X509). */
      cert: FilePath.optional(),
      key: FilePath.optional(),
      /** The CA file's path on the database hosts, for MASTER_SSL_CA; default `ca`. */
      replicationCa: FilePath.optional(),
    })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), {
      message: "cert and key go together",
      path: ["key"],
    })
    .optional(),
  /**
   * Durability (docs/operations.md, "Durability modes"): false = asynchronous replication;
   * true = semi-sync, turned on at promotion once a replica follows the new primary (MariaDB
   * falls back to async after rpl_semi_sync_master_timeout); "strict" = semi-sync that never
   * falls back: rpl_semi_sync_master_timeout at its maximum and wait_no_slave=ON on every
   * server Marina promotes, rejoins or repoints, semi-sync master on before a promoted
   * server takes writes, and fences that never switch it off. A primary with no replica
   * then blocks its commits instead of acknowledging them.
   */
  semiSync: z.union([z.boolean(), z.literal("strict")]).default(false),
  monitor: MonitorSettings.prefault({}),
  failover: FailoverSettings.prefault({}),
  switchover: SwitchoverSettings.prefault({}),
  /**
   * Programs the executors run before and after a failover or a switchover, and the NATS
   * veto subject (hooks.ts; docs/configuration.md, "clusters[].hooks").
   */
  hooks: HooksSettings.prefault({}),
  /**
   * Save a diverged server's extra transactions, raw and decoded, from the executor's side
   * (the executors' account then needs REPLICATION SLAVE and BINLOG MONITOR). Unset: not saved.
   */
  saveBinlogs: SaveBinlogsSettings.optional(),
  /** Removed: SSH settings live in the config of the agent that serves the servers. */
  ssh: retired(SSH_MOVED),
});

/**
 * Replicas of Marina's JetStream streams and KV buckets: a number (1-5; a JetStream cluster
 * needs at least that many servers), or "auto": 3 when the NATS cluster has 3 or more
 * servers, 1 otherwise (see docs/configuration.md for how the size is learnt).
 */
export const NatsReplicas = z.union([z.literal("auto"), z.number().int().min(1).max(5)]);

/** Where a service serves /healthz and /metrics (the monitor also /status). */
export const HttpListen = z.strictObject({
  host: Address.default("127.0.0.1"),
  /** 0: a free port (logged, and printed by the sandbox). */
  port: z.number().int().min(0).max(65535),
});

/** A name an HTTP API token is known by: recorded as the requester (`http:<name>`). */
export const ApiTokenName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, "must be 1-64 of A-Za-z0-9_.@- (not first)");

/** Shortest bearer token accepted (checked once resolved, at start). */
export const API_TOKEN_MIN_LENGTH = 16;

/** A refinement of an array: no two items share `field` (the second is named a duplicate). */
function uniqueField<K extends string>(field: K) {
  return (items: readonly Record<K, string>[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const v = item[field];
      if (seen.has(v))
        ctx.addIssue({ code: "custom", path: [i, field], message: `duplicate "${v}"` });
      seen.add(v);
    });
  };
}

/**
 * The HTTP API over TLS. With `clientCa`, a client may present a certificate instead of a
 * bearer token: one signed by that CA whose subject CN is listed in `clients` is let in
 * under the entry's name (recorded as the requester, like a token's).
 */
export const ApiTls = z
  .strictObject({
    /** The API's certificate and key (PEM files). */
    cert: FilePath,
    key: FilePath,
    /** PEM file of the CA that signs client certificates. */
    clientCa: FilePath.optional(),
    /** The client certificates let in, by subject CN, each under a requester name. */
    clients: z
      .array(
        z.strictObject({
          name: ApiTokenName,
          commonName: z.string().min(1).max(64),
        }),
      )
      .max(64)
      .default([])
      .superRefine(uniqueField("commonName")),
    /**
     * Refuse every TLS connection without a certificate signed by `clientCa` — the proxy
     * health checks need one then too (HAProxy: `check-ssl crt …`). Default: a connection
     * without one is let in, and needs a token where a route asks for one.
     */
    requireClientCertificate: z.boolean().default(false),
  })
  .refine(
    (t) => t.clientCa !== undefined || (t.clients.length === 0 && !t.requireClientCertificate),
    { message: "clients and requireClientCertificate need clientCa", path: ["clientCa"] },
  );
export type ApiTls = z.infer<typeof ApiTls>;

/** The decider's HTTP API (docs/http-api.md). */
export const ApiSettings = z.strictObject({
  host: Address.default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(9110),
  /** Bearer tokens of the mutating endpoints, each under a name recorded as the requester. */
  tokens: z
    .array(z.strictObject({ name: ApiTokenName, token: Secret }))
    .max(64)
    .default([])
    .superRefine(uniqueField("name")),
  /** Read endpoints (state, topology, history, events) without a token. */
  openReads: z.boolean().default(false),
  /**
   * Proxy health checks answer from the leader's status at most this old: a follower (or
   * the leader) asks again past it, and answers 503 when no answer comes in healthTimeoutMs.
   */
  statusMaxAgeMs: z.number().int().min(50).max(60_000).default(1_000),
  healthTimeoutMs: z.number().int().min(100).max(30_000).default(1_000),
  /** HTTPS, and client certificates (mTLS) as another way in (docs/http-api.md, "TLS"). */
  tls: ApiTls.optional(),
});

export const MarinaConfig = z
  .strictObject({
    nats: z
      .strictObject({
        /** Every server of the NATS cluster: a service moves to another one when its server is lost. */
        servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]),
        /** The user of every service without one of its own in `credentials`. */
        user: z.string().optional(),
        password: Secret.optional(),
        /**
         * Each service's own NATS user (its identity: what it may publish and subscribe to
         * is set in the nats-server config, see docs/security.md). A service without an
         * entry here uses `user`/`password`.
         */
        credentials: z
          .strictObject({
            monitor: Credentials.optional(),
            decider: Credentials.optional(),
            executor: Credentials.optional(),
            operator: Credentials.optional(),
            observer: Credentials.optional(),
          })
          .optional(),
        replicas: NatsReplicas.default("auto"),
        /**
         * TLS to NATS (required when the servers have a `tls` block): the servers'
         * certificates are verified against `ca`; `cert`/`key` when they verify clients.
         */
        tls: z
          .strictObject({ ca: FilePath, cert: FilePath.optional(), key: FilePath.optional() })
          .refine((t) => (t.cert === undefined) === (t.key === undefined), {
            message: "cert and key go together",
            path: ["key"],
          })
          .optional(),
      })
      .prefault({}),
    clusters: z.array(ClusterConfig).min(1),
    /**
     * How long the operations' records (stream MARINA_HISTORY, `marina history`) are kept:
     * a record goes when it is older than `maxAgeDays` or when the stream holds `maxRecords`
     * (all clusters together), whichever comes first. Applied at every decider start.
     */
    history: z
      .strictObject({
        maxAgeDays: z.number().int().min(1).max(3650).default(365),
        maxRecords: z.number().int().min(100).max(10_000_000).default(100_000),
      })
      .prefault({}),
    /** The monitor's HTTP endpoints (/healthz, /metrics, /status). */
    http: HttpListen.optional(),
    /** The deciders' HTTP API and proxy health checks (docs/http-api.md); none without it. */
    api: ApiSettings.optional(),
    /** Each executor's /healthz and /metrics (docs/metrics.md); `--http-port` overrides the port. */
    executorHttp: HttpListen.optional(),
    /**
     * Each decider's /healthz and /metrics on a port of their own, for a decider without
     * `api` (the API serves /metrics too); `--metrics-port` overrides the port.
     */
    deciderMetrics: HttpListen.optional(),
  })
  .superRefine((cfg, ctx) => {
    const clusters = new Set<string>();
    cfg.clusters.forEach((c, ci) => {
      if (clusters.has(c.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", ci, "name"],
          message: `duplicate cluster "${c.name}"`,
        });
      }
      clusters.add(c.name);
      if (c.failover.autoFlashback && !c.saveBinlogs) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", ci, "failover", "autoFlashback"],
          message:
            "autoFlashback needs clusters[].saveBinlogs (the extra transactions are saved before they are undone)",
        });
      }
      const names = new Set<string>();
      c.servers.forEach((s, si) => {
        if (names.has(s.name)) {
          ctx.addIssue({
            code: "custom",
            path: ["clusters", ci, "servers", si, "name"],
            message: `duplicate server "${s.name}"`,
          });
        }
        names.add(s.name);
      });
    });
  });

/** `semiSync: "strict"`: semi-sync that never falls back to async. */
export function strictDurability(c: { semiSync: boolean | "strict" }): boolean {
  return c.semiSync === "strict";
}

export type Secret = z.infer<typeof Secret>;
export type Credentials = z.infer<typeof Credentials>;
export type ServerConfig = z.infer<typeof ServerConfig>;
export type MonitorSettings = z.infer<typeof MonitorSettings>;
export type FailoverSettings = z.infer<typeof FailoverSettings>;
export type ClusterConfig = z.infer<typeof ClusterConfig>;
export type MarinaConfig = z.infer<typeof MarinaConfig>;
export type ApiSettings = z.infer<typeof ApiSettings>;
export type HttpListen = z.infer<typeof HttpListen>;
export type NatsReplicas = z.infer<typeof NatsReplicas>;
