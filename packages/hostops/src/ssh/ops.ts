import { type Compression, MarinaError } from "@marina/contracts";
import {
  backupStream,
  chownDatadir,
  compressor,
  connectStream,
  decompressor,
  diskUsage,
  emptyDirectory,
  extractStream,
  listDirectory,
  listenStream,
  prepareBackup,
  readBackupInfo,
  readMarkerFile,
  removeMarkerFile,
  resolvePath,
  SOCAT_LISTENING,
  systemctl,
  type TlsFiles,
  writeMarkerFile,
} from "../argv.js";
import { type BackupPosition, parseBackupPosition } from "../backup-info.js";
import { judgeDatadirListing, parseLsListing } from "../datadir-policy.js";
import { DEFAULT_TOOL_PATHS, type Invocation, type ToolPaths } from "../programs.js";
import {
  bashScript,
  type RenderOptions,
  renderInvocation,
  renderPipeline,
  shQuote,
} from "../shell.js";
import {
  checkAbsolutePath,
  checkDatadirPath,
  checkDbUser,
  checkOsName,
  checkPort,
  checkUnit,
  socatHost,
} from "../validate.js";
import { type ExecOptions, type ExecResult, type SshEndpoint, SshSession } from "./session.js";

// DEPRECATED: the decider's agentless mode (services/decider/src/ssh-transport.ts) until it
// sends SSH hosts' requests to the agent that serves them; the agent's own SSH backend
// (services/agent/src/host/ssh-backend.ts) runs the agent's operations instead, with the
// rebuild marker, saveDir and the logical method this copy lacks. Do not extend it.
// Agentless mode: the same receive/send operations as the agent, run over SSH. Each remote
// command line is built from a fixed template out of validated values and quoted word by
// word; privileged programs run under `sudo -n`, limited by deploy/sudoers.marina.

/** One MariaDB server on the remote host, as the operator configured it. */
export interface SshServer {
  readonly name: string;
  readonly datadir: string;
  readonly defaultsFile: string;
  readonly socket: string;
  readonly osUser: string;
  readonly osGroup: string;
  /** systemd unit, used unless the caller passes its own service hooks. */
  readonly unit: string;
  /**
   * Instead of `systemctl stop|start <unit>`: argument lists run over SSH (program by
   * absolute path, every word quoted; under `sudo -n` when the host config says sudo).
   * For hosts without systemd; the operator's sudoers must allow them.
   */
  readonly service?: ServiceCommands | null;
}

export interface ServiceCommands {
  readonly stop: readonly string[];
  readonly start: readonly string[];
}

export interface SshHostConfig {
  readonly endpoint: SshEndpoint;
  /** Run privileged programs with `sudo -n` (false when logging in as root). */
  readonly sudo: boolean;
  readonly paths?: Partial<ToolPaths>;
  /** Local backup account; its password travels on the channel's stdin, never argv. */
  readonly backupUser: string;
  readonly backupPassword?: string;
  /** Scratch dir for mariadb-backup --target-dir on the donor. */
  readonly tmpDir: string;
  /** PEM files ON THE REMOTE HOST for a TLS stream. */
  readonly tls?: TlsFiles;
}

/** Stop/start of the database service; defaults to `systemctl stop|start <unit>`. */
export interface ServiceHooks {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface Progress {
  readonly phase: string;
  readonly bytes: number;
}

export interface RemoteTimeouts {
  readonly commandMs: number;
  readonly connectMs: number;
  readonly streamMs: number;
  readonly prepareMs: number;
}

const DEFAULT_TIMEOUTS: RemoteTimeouts = {
  commandMs: 120_000,
  connectMs: 120_000,
  streamMs: 6 * 3600_000,
  prepareMs: 3600_000,
};

export interface ReceiveRequest {
  readonly port: number;
  readonly bind: string;
  readonly compression: Compression;
  readonly tls: boolean;
  readonly service?: ServiceHooks;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
  readonly timeouts?: Partial<RemoteTimeouts>;
}

export interface ReceiveOutcome {
  readonly position: BackupPosition;
  readonly bytes: number;
  readonly timings: Record<string, number>;
}

export interface ReceiveHandle {
  readonly port: number;
  /** Settles when the server runs on the restored datadir, or the receive failed. */
  readonly done: Promise<ReceiveOutcome>;
}

export interface SendRequest {
  readonly to: { readonly address: string; readonly port: number };
  readonly compression: Compression;
  readonly tls: boolean;
  readonly signal?: AbortSignal;
  readonly timeouts?: Partial<RemoteTimeouts>;
}

export interface SendOutcome {
  readonly timings: Record<string, number>;
}

/** A service command: a program by absolute path, then plain words (no NUL, no newline). */
function checkServiceCommand(words: readonly string[], field: string): void {
  if (words.length === 0 || words.length > 32) {
    throw new MarinaError("VALIDATION_FAILED", `${field}: must have 1-32 words`, { path: field });
  }
  checkAbsolutePath(words[0]!, `${field}[0]`);
  words.forEach((w, i) => {
    if (w.length === 0 || w.length > 1024 || /[\0\n\r]/.test(w)) {
      throw new MarinaError("VALIDATION_FAILED", `${field}[${i}]: 1-1024 characters, no newline`, {
        path: field,
      });
    }
  });
}

function toolFailed(what: string, r: ExecResult): MarinaError {
  if (r.aborted) return new MarinaError("CANCELLED", `${what}: cancelled`);
  if (r.timedOut) return new MarinaError("TIMEOUT", `${what}: did not finish in time`);
  const tail = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-5).join(" | ");
  return new MarinaError("TOOL_FAILED", `${what} failed (exit ${r.code ?? r.signal}): ${tail}`);
}

/**
 * Every command the agentless flows run for `server`, with the arguments they use: what
 * the sudoers allow-list must permit (the privileged ones) — checked by a test.
 */
export function agentlessCommands(
  server: SshServer,
  cfg: Pick<SshHostConfig, "backupUser" | "tmpDir">,
): Invocation[] {
  SshHostOps.checkServer(server);
  return [
    systemctl("stop", server.unit),
    systemctl("start", server.unit),
    resolvePath(server.datadir),
    listDirectory(server.datadir),
    emptyDirectory(server.datadir),
    extractStream(server.datadir),
    prepareBackup(server.datadir, server.defaultsFile),
    chownDatadir(server.datadir, server.osUser, server.osGroup),
    readBackupInfo(server.datadir, "xtrabackup_binlog_info"),
    readBackupInfo(server.datadir, "xtrabackup_slave_info"),
    diskUsage(server.datadir),
    // The agent's SSH backend also keeps the rebuild marker.
    writeMarkerFile(server.datadir),
    readMarkerFile(server.datadir),
    removeMarkerFile(server.datadir),
    backupStream({
      defaultsFile: server.defaultsFile,
      socket: server.socket,
      user: cfg.backupUser,
      tmpDir: cfg.tmpDir,
    }),
  ];
}

/** Operations on one remote database host. */
export class SshHostOps {
  readonly #cfg: SshHostConfig;
  readonly #paths: ToolPaths;
  #session: Promise<SshSession> | undefined;

  constructor(cfg: SshHostConfig) {
    for (const [k, v] of Object.entries(cfg.paths ?? {})) checkAbsolutePath(v, `paths.${k}`);
    checkAbsolutePath(cfg.tmpDir, "tmpDir");
    checkDbUser(cfg.backupUser, "backupUser");
    this.#cfg = cfg;
    this.#paths = { ...DEFAULT_TOOL_PATHS, ...cfg.paths };
  }

  /** Validates a server description before anything is run for it. */
  static checkServer(s: SshServer): SshServer {
    checkDatadirPath(s.datadir, "datadir");
    checkAbsolutePath(s.defaultsFile, "defaultsFile");
    checkAbsolutePath(s.socket, "socket");
    checkOsName(s.osUser, "osUser");
    checkOsName(s.osGroup, "osGroup");
    checkUnit(s.unit, "unit");
    if (s.service) {
      checkServiceCommand(s.service.stop, "service.stop");
      checkServiceCommand(s.service.start, "service.start");
    }
    return s;
  }

  get #render(): RenderOptions {
    return { paths: this.#paths, sudo: this.#cfg.sudo };
  }

  /** The exact command line a given invocation becomes (what sudoers must allow). */
  commandLine(inv: Invocation): string {
    return renderInvocation(inv, this.#render);
  }

  async #ssh(): Promise<SshSession> {
    if (!this.#session) {
      const pending = SshSession.connect(this.#cfg.endpoint);
      this.#session = pending;
      pending.catch(() => {
        if (this.#session === pending) this.#session = undefined;
      });
    }
    return this.#session;
  }

  async #run(inv: Invocation, what: string, o: ExecOptions = {}): Promise<string> {
    const ssh = await this.#ssh();
    const r = await ssh.exec(this.commandLine(inv), {
      timeoutMs: DEFAULT_TIMEOUTS.commandMs,
      ...o,
    });
    if (r.code !== 0) throw toolFailed(what, r);
    return r.stdout;
  }

  /** Refuses unless the datadir is canonical (no symlink) and empty or MariaDB's. */
  async checkDatadir(server: SshServer): Promise<void> {
    SshHostOps.checkServer(server);
    const real = (await this.#run(resolvePath(server.datadir), "realpath")).trim();
    if (real !== server.datadir) {
      throw new MarinaError(
        "REFUSED",
        `datadir ${server.datadir} resolves to ${real}; configure the real path`,
        { path: "datadir" },
      );
    }
    const listing = await this.#run(listDirectory(server.datadir), "ls datadir");
    const verdict = judgeDatadirListing(parseLsListing(listing));
    if (!verdict.ok) {
      throw new MarinaError("REFUSED", `datadir ${server.datadir} ${verdict.reason}`, {
        path: "datadir",
      });
    }
  }

  async stopServer(server: SshServer): Promise<void> {
    SshHostOps.checkServer(server);
    if (server.service) await this.#runService(server.service.stop, "service stop");
    else await this.#run(systemctl("stop", server.unit), "systemctl stop");
  }

  async startServer(server: SshServer): Promise<void> {
    SshHostOps.checkServer(server);
    if (server.service) await this.#runService(server.service.start, "service start");
    else await this.#run(systemctl("start", server.unit), "systemctl start");
  }

  /** A configured service command: fixed words, each quoted; validated by checkServer. */
  async #runService(words: readonly string[], what: string): Promise<void> {
    const argv = this.#cfg.sudo ? [this.#paths.sudo, "-n", ...words] : [...words];
    const ssh = await this.#ssh();
    const r = await ssh.exec(argv.map(shQuote).join(" "), {
      timeoutMs: DEFAULT_TIMEOUTS.commandMs,
    });
    if (r.code !== 0) throw toolFailed(what, r);
  }

  #tls(on: boolean): TlsFiles | undefined {
    if (!on) return undefined;
    if (!this.#cfg.tls)
      throw new MarinaError("REFUSED", "tls requested but no TLS files are configured");
    return this.#cfg.tls;
  }

  /**
   * Target side: checks and empties the datadir, then listens. Resolves once socat
   * listens (the donor may connect); `done` settles after prepare, chown and start.
   */
  async receiveBackup(server: SshServer, req: ReceiveRequest): Promise<ReceiveHandle> {
    const t = { ...DEFAULT_TIMEOUTS, ...req.timeouts };
    const timings: Record<string, number> = {};
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      try {
        return await fn();
      } finally {
        timings[name] = Math.round(performance.now() - start);
      }
    };
    checkPort(req.port, "port");
    socatHost(req.bind, "bind");
    const tls = this.#tls(req.tls);
    await phase("guard", () => this.checkDatadir(server));
    const service = req.service ?? {
      stop: () => this.stopServer(server),
      start: () => this.startServer(server),
    };
    await phase("stop", () => service.stop());
    await phase("empty", () => this.#run(emptyDirectory(server.datadir), "empty datadir"));

    const stages: Invocation[] = [listenStream({ port: req.port, bind: req.bind, tls })];
    const dec = decompressor(req.compression);
    if (dec) stages.push(dec);
    stages.push(extractStream(server.datadir));
    const script = `set -o pipefail; ${renderPipeline(stages, this.#render)}`;
    const ssh = await this.#ssh();

    let onListening: () => void = () => {};
    const listening = new Promise<void>((resolve) => {
      onListening = resolve;
    });
    let output = "";
    const streamStart = performance.now();
    const pipeline = ssh.exec(bashScript(script, this.#paths), {
      pty: true,
      timeoutMs: t.streamMs,
      ...(req.signal ? { signal: req.signal } : {}),
      onOutput: (text) => {
        output = (output + text).slice(-8192);
        if (SOCAT_LISTENING.test(output)) onListening();
      },
    });
    const first = await Promise.race([
      listening.then(() => "listening" as const),
      pipeline.then((r) => r),
    ]);
    if (first !== "listening") throw toolFailed("receive pipeline", first);

    const done = (async (): Promise<ReceiveOutcome> => {
      let bytes = 0;
      const poll = setInterval(() => {
        this.#run(diskUsage(server.datadir), "du", { timeoutMs: 10_000 })
          .then((out) => {
            bytes = Number(out.trim().split(/\s+/)[0]) || bytes;
            req.onProgress?.({ phase: "stream", bytes });
          })
          .catch(() => {});
      }, 2_000);
      let r: ExecResult;
      try {
        r = await pipeline;
      } finally {
        clearInterval(poll);
      }
      timings.stream = Math.round(performance.now() - streamStart);
      if (r.code !== 0) throw toolFailed("receive pipeline", r);
      await phase("prepare", () =>
        this.#run(prepareBackup(server.datadir, server.defaultsFile), "mariadb-backup --prepare", {
          timeoutMs: t.prepareMs,
        }),
      );
      await phase("chown", () =>
        this.#run(chownDatadir(server.datadir, server.osUser, server.osGroup), "chown"),
      );
      const binlogInfo = await this.#run(
        readBackupInfo(server.datadir, "xtrabackup_binlog_info"),
        "read xtrabackup_binlog_info",
      );
      const slaveInfo = await this.#run(
        readBackupInfo(server.datadir, "xtrabackup_slave_info"),
        "read xtrabackup_slave_info",
      ).catch(() => null);
      const du = await this.#run(diskUsage(server.datadir), "du").catch(() => "");
      bytes = Number(du.trim().split(/\s+/)[0]) || bytes;
      await phase("start", () => service.start());
      return { position: parseBackupPosition(binlogInfo, slaveInfo), bytes, timings };
    })();
    done.catch(() => {});
    return { port: req.port, done };
  }

  /**
   * Donor side: streams a physical backup to a listening target. mariadb-backup's
   * --safe-slave-backup stops the SQL thread during the copy and restarts it at the end;
   * when the stream fails, the caller must make sure replication runs (START SLAVE via
   * an executor): this module runs no SQL.
   */
  async sendBackup(server: SshServer, req: SendRequest): Promise<SendOutcome> {
    SshHostOps.checkServer(server);
    const t = { ...DEFAULT_TIMEOUTS, ...req.timeouts };
    const tls = this.#tls(req.tls);
    const stages: Invocation[] = [
      backupStream({
        defaultsFile: server.defaultsFile,
        socket: server.socket,
        user: this.#cfg.backupUser,
        tmpDir: this.#cfg.tmpDir,
      }),
    ];
    const comp = compressor(req.compression);
    if (comp) stages.push(comp);
    stages.push(
      connectStream({
        address: req.to.address,
        port: req.to.port,
        connectTimeoutS: t.connectMs / 1000,
        tls,
      }),
    );
    const pw = this.#cfg.backupPassword;
    // The password is read from stdin into the environment (sudoers keeps MYSQL_PWD for
    // mariadb-backup only): it never appears on a command line or in a file.
    const prologue = pw !== undefined ? "IFS= read -r MYSQL_PWD && export MYSQL_PWD && " : "";
    const script = `set -o pipefail; ${prologue}${renderPipeline(stages, this.#render)}`;
    const ssh = await this.#ssh();
    const start = performance.now();
    const r = await ssh.exec(bashScript(script, this.#paths), {
      pty: true,
      timeoutMs: t.streamMs,
      ...(pw !== undefined ? { stdin: `${pw}\n` } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    if (r.code !== 0) throw toolFailed("send pipeline", r);
    return { timings: { stream: Math.round(performance.now() - start) } };
  }

  close(): void {
    const s = this.#session;
    this.#session = undefined;
    s?.then((x) => x.close()).catch(() => {});
  }
}
