import { z } from "zod";
import { Address, ClusterName, HostName, Port, ServerName } from "./names.js";

// One configuration file (YAML or JSON) serves every service: each reads the sections it
// needs. Secrets may be given inline or, better, as the name of an environment variable.

export const Secret = z.union([
  z.strictObject({ value: z.string().max(1024) }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name") }),
]);

export const Credentials = z.strictObject({
  user: z.string().min(1).max(80),
  password: Secret,
});

/** An SSH private key: a file on the decider's host, or a secret holding the key text. */
export const SshPrivateKey = z.union([
  z.strictObject({ path: z.string().min(1).max(1024) }),
  z.strictObject({ value: z.string().max(16_384) }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name") }),
]);

const AbsolutePath = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._@+/-]*$/, "must be an absolute path of letters, digits and . _ @ + - /");
const OsName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user/group name");

/**
 * Agentless hosts: how the decider reaches a database host over SSH to rebuild it
 * (`cmd.rebuild {"transport":"ssh"}`). Given per cluster (defaults for every server) and/or
 * per server (wins field by field); every field is optional here, the defaults and the
 * required ones are applied by `sshSettingsOf`.
 */
export const SshSettings = z.strictObject({
  /** SSH address; default: the server's `host`. */
  host: Address.optional(),
  port: Port.optional(),
  user: OsName.optional(),
  privateKey: SshPrivateKey.optional(),
  /** The host key's fingerprint as `ssh-keygen -lf` prints it; no trust on first use. */
  hostKeyFingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be SHA256:<43 base64 characters>")
    .optional(),
  /** Run privileged programs under `sudo -n` (deploy/sudoers.marina); false for root. */
  sudo: z.boolean().optional(),
  /** Default: the server's `datadir`. */
  datadir: AbsolutePath.optional(),
  osUser: OsName.optional(),
  osGroup: OsName.optional(),
  defaultsFile: AbsolutePath.optional(),
  socket: AbsolutePath.optional(),
  /** systemd unit stopped and started around the restore. */
  unit: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9@_.-]{0,254}$/)
    .optional(),
  /**
   * Instead of `systemctl stop|start <unit>`: argument lists run over SSH (the program by
   * absolute path; under `sudo -n` when `sudo`), e.g. for a host without systemd.
   */
  service: z
    .strictObject({
      stop: z.array(z.string().min(1).max(1024)).min(1).max(32),
      start: z.array(z.string().min(1).max(1024)).min(1).max(32),
    })
    .optional(),
  /** Local account mariadb-backup uses over the unix socket; default: the admin account. */
  backup: Credentials.optional(),
  /** The donor's scratch directory for mariadb-backup --target-dir. */
  tmpDir: AbsolutePath.optional(),
  /** Where the target's socat listens; default: the SSH host. */
  listenAddress: Address.optional(),
  /** What the donor connects to; default: listenAddress. */
  advertiseAddress: Address.optional(),
  /** The target's listening port for the stream. */
  streamPort: Port.optional(),
});

export const ServerConfig = z.strictObject({
  name: ServerName,
  host: Address,
  port: Port.default(3306),
  /** Host id of the agent that runs on this server's machine. */
  agentHost: HostName.optional(),
  datadir: z.string().max(1024).optional(),
  /** Never choose this server as a failover or switchover target. */
  neverPromote: z.boolean().default(false),
  /** Agentless host: SSH settings (over the cluster's `ssh` defaults). */
  ssh: SshSettings.optional(),
});

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
  drainTimeoutMs: z.number().int().min(100).default(30_000),
});

export const ClusterConfig = z.strictObject({
  name: ClusterName,
  servers: z.array(ServerConfig).min(1).max(64),
  /** Account the monitor, executors and agents use (needs SUPER-like privileges). */
  admin: Credentials,
  /** Account replicas use in CHANGE MASTER. */
  replication: Credentials,
  /** Turn semi-sync master on at promotion. */
  semiSync: z.boolean().default(false),
  monitor: MonitorSettings.prefault({}),
  failover: FailoverSettings.prefault({}),
  /** SSH defaults for every server (agentless hosts); a server's own `ssh` wins. */
  ssh: SshSettings.optional(),
});

export const MarinaConfig = z
  .strictObject({
    nats: z
      .strictObject({
        servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]),
        user: z.string().optional(),
        password: Secret.optional(),
      })
      .prefault({}),
    clusters: z.array(ClusterConfig).min(1),
    http: z
      .strictObject({
        host: Address.default("127.0.0.1"),
        port: z.number().int().min(0).max(65535),
      })
      .optional(),
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

export type SshPrivateKey = z.infer<typeof SshPrivateKey>;
export type SshSettings = z.infer<typeof SshSettings>;

/** A server's SSH settings with the defaults applied: everything the SSH mode needs. */
export interface SshHostSettings {
  host: string;
  port: number;
  user: string;
  privateKey: SshPrivateKey;
  hostKeyFingerprint: string;
  sudo: boolean;
  datadir: string;
  osUser: string;
  osGroup: string;
  defaultsFile: string;
  socket: string;
  unit: string;
  service: { stop: string[]; start: string[] } | null;
  backup: Credentials;
  tmpDir: string;
  listenAddress: string;
  advertiseAddress: string;
  streamPort: number;
}

export type SshSettingsCheck =
  | { ok: true; settings: SshHostSettings }
  | { ok: false; missing: string[] };

/**
 * The SSH settings of `server` (cluster defaults, then the server's own); null when neither
 * the cluster nor the server has an `ssh` section, the missing required fields otherwise.
 * Pure: secrets and key files are resolved by whoever connects.
 */
export function sshSettingsOf(cluster: ClusterConfig, server: string): SshSettingsCheck | null {
  const s = cluster.servers.find((x) => x.name === server);
  if (!s || (cluster.ssh === undefined && s.ssh === undefined)) return null;
  const m: SshSettings = { ...cluster.ssh, ...s.ssh };
  const datadir = m.datadir ?? s.datadir;
  const missing = [
    ...(m.privateKey === undefined ? ["privateKey"] : []),
    ...(m.hostKeyFingerprint === undefined ? ["hostKeyFingerprint"] : []),
    ...(datadir === undefined ? ["datadir"] : []),
  ];
  if (m.privateKey === undefined || m.hostKeyFingerprint === undefined || datadir === undefined)
    return { ok: false, missing };
  const host = m.host ?? s.host;
  const osUser = m.osUser ?? "mysql";
  const listenAddress = m.listenAddress ?? host;
  return {
    ok: true,
    settings: {
      host,
      port: m.port ?? 22,
      user: m.user ?? "marina",
      privateKey: m.privateKey,
      hostKeyFingerprint: m.hostKeyFingerprint,
      sudo: m.sudo ?? true,
      datadir,
      osUser,
      osGroup: m.osGroup ?? osUser,
      defaultsFile: m.defaultsFile ?? "/etc/mysql/my.cnf",
      socket: m.socket ?? "/run/mysqld/mysqld.sock",
      unit: m.unit ?? "mariadb",
      service: m.service ? { stop: [...m.service.stop], start: [...m.service.start] } : null,
      backup: m.backup ?? cluster.admin,
      tmpDir: m.tmpDir ?? "/var/tmp/marina-backup",
      listenAddress,
      advertiseAddress: m.advertiseAddress ?? listenAddress,
      streamPort: m.streamPort ?? 4444,
    },
  };
}

export type Secret = z.infer<typeof Secret>;
export type Credentials = z.infer<typeof Credentials>;
export type ServerConfig = z.infer<typeof ServerConfig>;
export type MonitorSettings = z.infer<typeof MonitorSettings>;
export type FailoverSettings = z.infer<typeof FailoverSettings>;
export type ClusterConfig = z.infer<typeof ClusterConfig>;
export type MarinaConfig = z.infer<typeof MarinaConfig>;
