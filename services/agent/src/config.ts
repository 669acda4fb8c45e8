import {
  Address,
  ClusterName,
  HostName,
  HttpListen,
  loadConfigFile,
  parseConfigText,
  Secret,
  ServerName,
} from "@marina/contracts";
import {
  checkAbsolutePath,
  checkDatadirPath,
  checkDbUser,
  checkOsName,
  checkUnit,
  DEFAULT_TOOL_PATHS,
} from "@marina/hostops";
import { z } from "zod";

// The agent's own config file (YAML or JSON). Values that end up in a command line are
// checked with the same validators the argv builders use, so a bad file fails at load
// with the field's path, not halfway through a rebuild.

function via<T>(check: (v: T, field: string) => T, what: string) {
  return (v: T, ctx: z.RefinementCtx) => {
    try {
      check(v, what);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^[^:]*: /, "") });
    }
  };
}

const AbsPath = z.string().superRefine(via(checkAbsolutePath, "path"));
const DatadirPath = z.string().superRefine(via(checkDatadirPath, "datadir"));
const OsName = z.string().superRefine(via(checkOsName, "name"));

export const SystemdControl = z.strictObject({
  kind: z.literal("systemd"),
  unit: z.string().superRefine(via(checkUnit, "unit")).default("mariadb"),
});

/**
 * The agent starts mariadbd itself with this argv (first element an absolute path) and
 * finds it again through the pid file the server writes.
 */
export const ProcessControl = z.strictObject({
  kind: z.literal("process"),
  start: z.array(z.string().min(1).max(4096)).min(1).max(64),
  pidFile: AbsPath,
  /** stdout/stderr of the started process. */
  logFile: AbsPath.optional(),
  stopTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
  startTimeoutMs: z.number().int().min(100).max(3_600_000).default(300_000),
});

export const ServiceControlConfig = z.discriminatedUnion("kind", [SystemdControl, ProcessControl]);

/**
 * A server the agent reaches over SSH instead of running on its host: the agent's
 * operations run there through fixed command templates (each word quoted; privileged ones
 * under `sudo -n`, limited by deploy/sudoers.marina), SQL over a forward to its socket.
 */
export const AgentSshConfig = z
  .strictObject({
    host: Address,
    port: z.number().int().min(1).max(65535).default(22),
    user: OsName,
    /** OpenSSH private key: a file on the agent's host, or a secret holding the key text. */
    privateKeyFile: AbsPath.optional(),
    privateKey: Secret.optional(),
    /** The host key's fingerprint as `ssh-keygen -lf` prints it; no trust on first use. */
    hostKeySha256: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be SHA256:<43 base64 characters>"),
    /** Run privileged programs with `sudo -n` (false when logging in as root). */
    sudo: z.boolean().default(true),
    /** Address a donor connects to when this server receives a backup (default: host). */
    advertiseAddress: Address.optional(),
    /** Address the remote receiving socat binds (default: advertiseAddress or host). */
    listenAddress: Address.optional(),
    /** Remote scratch dir of mariadb-backup on a donor (an exact sudoers argument). */
    tmpDir: AbsPath.default("/var/tmp/marina-backup"),
    /** PEM files ON THE REMOTE HOST for TLS streams. */
    tls: z.strictObject({ cert: AbsPath, key: AbsPath, ca: AbsPath }).optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.privateKeyFile === undefined) === (s.privateKey === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["privateKeyFile"],
        message: "give exactly one of privateKeyFile and privateKey",
      });
    }
  });

export const AgentServerConfig = z.strictObject({
  name: ServerName,
  /** The cluster the server belongs to: requests acting on it need that cluster's lease epoch. */
  cluster: ClusterName,
  datadir: DatadirPath,
  defaultsFile: AbsPath.default("/etc/mysql/my.cnf"),
  socket: AbsPath.default("/run/mysqld/mysqld.sock"),
  port: z.number().int().min(1).max(65535).default(3306),
  osUser: OsName.default("mysql"),
  osGroup: OsName.default("mysql"),
  service: ServiceControlConfig.default({ kind: "systemd", unit: "mariadb" }),
  /** Served over SSH: the server runs on that host, not on the agent's. */
  ssh: AgentSshConfig.optional(),
  /**
   * Marina's own option file for this server's per-connection replication filters (a
   * multi-source replica's), rewritten by persist-replication-filters. The server's my.cnf
   * must read it (`!includedir` of its directory, or `!include` of it). Unset: filters are
   * not persisted (a restart forgets them). Local hosts only.
   */
  replicationFiltersFile: AbsPath.refine((p) => p.endsWith(".cnf"), {
    message: "must end in .cnf: MariaDB's !includedir reads only *.cnf files",
  }).optional(),
});

const ToolPathsConfig = z
  .strictObject(
    Object.fromEntries(
      Object.entries(DEFAULT_TOOL_PATHS).map(([k, v]) => [k, AbsPath.default(v)]),
    ) as Record<keyof typeof DEFAULT_TOOL_PATHS, z.ZodDefault<typeof AbsPath>>,
  )
  .prefault({});

export const AgentTimeouts = z
  .strictObject({
    /** Stopping or starting a server. */
    serviceMs: z.number().int().min(100).default(300_000),
    /** A listening receiver waits this long for the donor to connect. */
    connectMs: z.number().int().min(100).default(120_000),
    /** No byte moved for this long: the stream is declared stuck. */
    idleMs: z.number().int().min(100).default(120_000),
    /** The whole stream. */
    streamMs: z
      .number()
      .int()
      .min(100)
      .default(6 * 3600_000),
    prepareMs: z.number().int().min(100).default(3600_000),
    /** SQL on the local server (replication checks on a donor). */
    sqlMs: z.number().int().min(100).default(10_000),
  })
  .prefault({});

/**
 * The agent fencing its own primary when Marina's coordination is out of sight and a
 * replica that could be promoted is out of reach (docs/operations.md, "Self-fencing").
 * Needs READ_ONLY ADMIN, CONNECTION ADMIN and PROCESS for the backup account.
 */
export const SelfFenceConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** No lease renewal seen for this long: coordination lost. */
    afterMs: z.number().int().min(200).max(60_000).default(1500),
    checkEveryMs: z.number().int().min(100).max(10_000).default(500),
    /** A candidate whose MariaDB port accepts no TCP connection within this is unreachable. */
    peerTimeoutMs: z.number().int().min(50).max(10_000).default(500),
    /** How often the last topology (the candidates) is read while coordination is seen. */
    topologyEveryMs: z.number().int().min(500).max(600_000).default(5000),
  })
  .prefault({});
export type SelfFenceConfig = z.infer<typeof SelfFenceConfig>;

const hostKey = (s: { ssh?: { host: string; port: number } | undefined }) =>
  s.ssh ? `${s.ssh.host}:${s.ssh.port}` : "local";

export const AgentConfig = z
  .strictObject({
    host: HostName,
    nats: z
      .strictObject({
        servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]),
        user: z.string().optional(),
        password: Secret.optional(),
        /** TLS to NATS: the servers' CA, and a client certificate when they verify clients. */
        tls: z
          .strictObject({ ca: AbsPath, cert: AbsPath.optional(), key: AbsPath.optional() })
          .refine((t) => (t.cert === undefined) === (t.key === undefined), {
            message: "cert and key go together",
            path: ["key"],
          })
          .optional(),
      })
      .prefault({}),
    /** Address donors connect to when this host receives a backup. */
    advertiseAddress: Address,
    /** Local address the receiving socat binds. */
    listenAddress: Address.default("0.0.0.0"),
    /** Ports a receiver may listen on when the request names none. */
    transferPorts: z
      .strictObject({
        from: z.number().int().min(1024).max(65535),
        to: z.number().int().min(1024).max(65535),
      })
      .refine((r) => r.from <= r.to, "from must be <= to")
      .default({ from: 4444, to: 4463 }),
    /** Local account for mariadb-backup and replication checks, over the unix socket. */
    backup: z.strictObject({
      user: z.string().superRefine(via(checkDbUser, "user")),
      password: Secret.optional(),
    }),
    /** Scratch space (mariadb-backup's --target-dir while streaming). */
    tmpDir: AbsPath.default("/var/tmp/marina-agent"),
    /**
     * Where a logical rebuild's target keeps its binlogs (its extra events) before they
     * are reset: `<saveDir>/<server>-<time>-<opId>/`. Outside every datadir. Unset: not kept.
     */
    saveDir: AbsPath.optional(),
    /**
     * Where take-backup keeps backups: `<backupDir>/<server>/<id>/` (`data/` and
     * `manifest.json`). Outside every datadir. Unset: take-backup is refused.
     */
    backupDir: AbsPath.optional(),
    tools: ToolPathsConfig,
    /** PEM files for TLS streams (socat OPENSSL, peer verified against `ca`). */
    tls: z.strictObject({ cert: AbsPath, key: AbsPath, ca: AbsPath }).optional(),
    servers: z.array(AgentServerConfig).min(1).max(32),
    heartbeatMs: z.number().int().min(100).max(60_000).default(1000),
    progressMs: z.number().int().min(100).max(60_000).default(1000),
    timeouts: AgentTimeouts,
    selfFence: SelfFenceConfig,
    /** Where the agent serves /healthz and /metrics (docs/metrics.md); none without it. */
    http: HttpListen.optional(),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    const overlaps = (dir: string | undefined, datadir: string) =>
      dir !== undefined &&
      (dir === datadir || dir.startsWith(`${datadir}/`) || datadir.startsWith(`${dir}/`));
    cfg.servers.forEach((s, i) => {
      for (const key of ["saveDir", "backupDir"] as const) {
        if (overlaps(cfg[key], s.datadir)) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `must be outside the datadir of ${s.name}`,
          });
        }
      }
      if (seen.has(s.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["servers", i, "name"],
          message: `duplicate server "${s.name}"`,
        });
      }
      seen.set(s.name, i);
      cfg.servers.forEach((o, j) => {
        // Servers on different hosts (local, or each ssh host) may share a path.
        if (j < i && o.datadir === s.datadir && hostKey(o) === hostKey(s)) {
          ctx.addIssue({
            code: "custom",
            path: ["servers", i, "datadir"],
            message: `datadir ${s.datadir} is also the datadir of "${o.name}"`,
          });
        }
      });
      if (s.ssh && s.service.kind !== "systemd") {
        ctx.addIssue({
          code: "custom",
          path: ["servers", i, "service", "kind"],
          message: "a server served over ssh is controlled with systemd (process: not yet)",
        });
      }
      if (s.service.kind === "process") {
        const argv0 = s.service.start[0]!;
        if (!argv0.startsWith("/")) {
          ctx.addIssue({
            code: "custom",
            path: ["servers", i, "service", "start", 0],
            message: "must be an absolute path to the program",
          });
        }
      }
    });
  });

export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentServerConfig = z.infer<typeof AgentServerConfig>;
export type ServiceControlConfig = z.infer<typeof ServiceControlConfig>;
export type AgentTimeouts = z.infer<typeof AgentTimeouts>;
export type AgentSshConfig = z.infer<typeof AgentSshConfig>;

/** Reads and validates an agent config; one-line errors naming the file and field. */
export function loadAgentConfig(path: string): AgentConfig {
  return loadConfigFile(path, AgentConfig);
}

export function parseAgentConfig(text: string, origin = "agent config"): AgentConfig {
  return parseConfigText(text, origin, AgentConfig);
}
