import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createAccounts } from "./accounts.js";
import { resolveBinary } from "./binaries.js";
import {
  type Connection,
  closeQuietly,
  DEFAULT_SOCKET_TIMEOUT_MS,
  openConnection,
} from "./connection.js";
import type { LabCredentials, LabUser } from "./credentials.js";
import { LabError, LabErrorCode } from "./errors.js";
import { tailFile } from "./log-tail.js";
import { type CnfValue, renderMyCnf } from "./mycnf.js";
import { freePort } from "./ports.js";
import { type ExitInfo, ManagedProcess, waitForSuccess } from "./process.js";
import { quoteIdent } from "./sql.js";
import type { LabTls } from "./tls.js";

export interface MariaNodeSpec {
  /** [A-Za-z0-9_-]; also the directory name under the lab tree. */
  readonly name: string;
  /** The lab tree (its path contains `marina-lab-`). */
  readonly labDir: string;
  readonly port: number;
  readonly serverId: number;
  readonly domainId: number;
  readonly readOnly: boolean;
  readonly semiSyncSlave: boolean;
  readonly semiSyncMasterTimeoutMs?: number;
  readonly credentials: LabCredentials;
  readonly extraConfig?: Readonly<Record<string, CnfValue>>;
  /** bind-address, report_host and what replicas connect to. Default 127.0.0.1. */
  readonly host?: string;
  /**
   * The network namespace of a lab host (`LabHost.ns`) to run mariadbd (and
   * mariadb-install-db) in; `host` is then that host's address. Unix sockets still reach
   * the server from the root namespace.
   */
  readonly netns?: string;
  /** Start (incl. crash recovery) must answer a ping within this. Default 60 s. */
  readonly startTimeoutMs?: number;
  /** socketTimeout of `query()`'s admin connection. Default 10 s. */
  readonly queryTimeoutMs?: number;
  /**
   * The lab's certificates: the server gets them (ssl_cert, ssl_key, ssl_ca), TCP
   * connections and replication use TLS with the CA checked.
   */
  readonly tls?: LabTls;
  /**
   * Where the server itself sees its datadir and socket, when that is not on this machine
   * under the node's directory (a container's). Default `<dir>/data`, `<dir>/mariadb.sock`.
   */
  readonly serverPaths?: { readonly datadir: string; readonly socket: string };
}

export interface NodeConnectOptions {
  readonly user?: LabUser;
  /** Default: socket for root, TCP for everyone else. */
  readonly via?: "socket" | "tcp";
  readonly database?: string;
  readonly connectTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

export interface QueryOptions {
  /** Runs on a fresh connection with this socketTimeout instead of the shared one. */
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One mariadbd instance of a lab: its files, its process, an admin connection, faults. */
export class MariaNode {
  readonly name: string;
  readonly host: string;
  /** The network namespace the server runs in; undefined on loopback. */
  readonly netns: string | undefined;
  readonly dir: string;
  readonly datadir: string;
  readonly socket: string;
  readonly defaultsFile: string;
  /** `!includedir` of the node's my.cnf: option files others write (an agent's filters). */
  readonly confDir: string;
  /** Where mariadbd writes its pid (whoever started it: the lab, or an agent). */
  readonly pidFile: string;
  readonly errorLog: string;
  readonly serverId: number;
  readonly domainId: number;
  readonly credentials: LabCredentials;
  /** The lab's certificates when it runs with TLS. */
  readonly tls: LabTls | undefined;
  readonly #spec: MariaNodeSpec;
  #port: number;
  #proc: ManagedProcess | undefined;
  #admin: Promise<Connection> | undefined;
  #everStarted = false;
  #closed = false;

  constructor(spec: MariaNodeSpec) {
    this.#spec = spec;
    this.name = spec.name;
    this.host = spec.host ?? "127.0.0.1";
    this.netns = spec.netns;
    this.#port = spec.port;
    this.dir = join(spec.labDir, spec.name);
    this.datadir = spec.serverPaths?.datadir ?? join(this.dir, "data");
    this.socket = spec.serverPaths?.socket ?? join(this.dir, "mariadb.sock");
    this.defaultsFile = join(this.dir, "my.cnf");
    this.confDir = join(this.dir, "conf.d");
    this.pidFile = join(this.dir, "mariadbd.pid");
    this.errorLog = join(this.dir, "error.log");
    this.serverId = spec.serverId;
    this.domainId = spec.domainId;
    this.credentials = spec.credentials;
    this.tls = spec.tls;
  }

  /** The port Marina and the tests connect to (with `host`). */
  get port(): number {
    return this.#port;
  }

  /**
   * The address the other servers use to replicate from this one (MASTER_HOST), which is
   * not always the one this machine connects to: in containers, replicas reach a server
   * by its network alias while the host reaches it on a mapped port. Natively the same.
   */
  get replicationHost(): string {
    return this.host;
  }

  /** The container the server runs in (containers backend); undefined for a process here. */
  get container(): string | undefined {
    return undefined;
  }

  /** The port replicas connect to (MASTER_PORT); see `replicationHost`. */
  get replicationPort(): number {
    return this.#port;
  }

  /** The running server's pid, undefined while it is down. */
  get pid(): number | undefined {
    return this.#proc?.isRunning() ? this.#proc.pid : undefined;
  }

  isRunning(): boolean {
    return this.#proc?.isRunning() ?? false;
  }

  /**
   * Creates the node's directories and my.cnf, leaving the datadir empty (a restore target:
   * stream a backup into `datadir`, then `start()`).
   */
  async prepare(): Promise<void> {
    await mkdir(join(this.dir, "tmp"), { recursive: true });
    await mkdir(this.datadir, { recursive: true });
    await this.#writeConfig();
  }

  /** prepare() and mariadb-install-db (the server is not started). */
  async init(): Promise<void> {
    await this.prepare();
    this.#assertOpen();
    const install = ManagedProcess.spawn({
      command: resolveBinary("mariadb-install-db"),
      args: [
        `--defaults-file=${this.defaultsFile}`,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
      ],
      logFile: join(this.dir, "install.log"),
      cwd: this.dir,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
    this.#proc = install; // so close() during init kills it (and its bootstrap mariadbd)
    try {
      await waitForSuccess(install, 60_000);
    } catch (err) {
      throw new LabError(
        LabErrorCode.StartFailed,
        `${this.name}: mariadb-install-db failed:\n${this.logTail(10)}`,
        { cause: err },
      );
    } finally {
      if (this.#proc === install) this.#proc = undefined;
    }
  }

  /** Creates the lab accounts locally (sql_log_bin=0); see accounts.ts. */
  async createAccounts(): Promise<void> {
    const conn = await this.connect();
    try {
      await createAccounts(conn, this.credentials);
      if (this.tls) await requireTlsOverTcp(conn);
    } finally {
      await closeQuietly(conn);
    }
  }

  /**
   * Starts mariadbd (same datadir, same port) and waits until it answers on its socket.
   * Only the very first start may move to another port, if the chosen one was taken.
   */
  async start(): Promise<void> {
    this.#assertOpen();
    if (this.isRunning()) return;
    for (let attempt = 1; ; attempt++) {
      const logOffset = existsSync(this.errorLog) ? statSync(this.errorLog).size : 0;
      try {
        await this.#startOnce();
        this.#everStarted = true;
        return;
      } catch (err) {
        const log = (await readFile(this.errorLog, "utf8").catch(() => "")).slice(logOffset);
        // A port taken in the root namespace; a host's namespace has its ports to itself.
        const movable = !this.#everStarted && this.netns === undefined && attempt < 4;
        if (movable && /Address already in use/.test(log)) {
          this.#port = await freePort(this.host);
          await this.#writeConfig();
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * The argv that starts this server (what the lab runs; an agent given it as its
   * `process` service control starts the same server).
   */
  serverArgv(): string[] {
    return [resolveBinary("mariadbd"), `--defaults-file=${this.defaultsFile}`];
  }

  /** Graceful shutdown: SIGTERM, wait for exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<ExitInfo | undefined> {
    this.#dropAdmin();
    return this.#proc?.terminate(timeoutMs);
  }

  /** kill -9 and wait until the process is gone. */
  async kill9(): Promise<ExitInfo | undefined> {
    this.#dropAdmin();
    return this.#proc?.kill();
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open, nothing answers. Resolves once
   * every thread is stopped.
   */
  async sigstop(): Promise<void> {
    await this.#proc?.freeze();
  }

  /** SIGCONT; resolves once no thread is stopped. */
  async sigcont(): Promise<void> {
    await this.#proc?.thaw();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Runs SQL as root over the socket on a shared connection (reopened after failures).
   * Never hangs on a frozen server: the connection has a socketTimeout.
   */
  async query<T = unknown>(sql: string, params?: unknown[], opts: QueryOptions = {}): Promise<T> {
    if (opts.timeoutMs !== undefined) {
      const conn = await this.connect({
        socketTimeoutMs: opts.timeoutMs,
        connectTimeoutMs: opts.timeoutMs,
      });
      try {
        return (await conn.query(sql, params)) as T;
      } finally {
        await closeQuietly(conn);
      }
    }
    const conn = await this.#adminConnection();
    try {
      return (await conn.query(sql, params)) as T;
    } catch (err) {
      if (!conn.isValid()) this.#dropAdmin();
      throw this.#named(err);
    }
  }

  /**
   * The error with this node's name in front of its message (the driver's errors say
   * neither the server nor the statement; a test's failure should say which server).
   */
  #named(err: unknown): unknown {
    if (err instanceof Error && !err.message.startsWith(`${this.name}: `)) {
      err.message = `${this.name}: ${err.message}`;
    }
    return err;
  }

  /** A new connection the caller owns (and must end). */
  async connect(opts: NodeConnectOptions = {}): Promise<Connection> {
    const who = opts.user ?? "root";
    const account = this.credentials[who];
    const via = opts.via ?? (who === "root" ? "socket" : "tcp");
    return openConnection({
      user: account.user,
      password: account.password,
      ...(via === "socket" ? { socketPath: this.socket } : { host: this.host, port: this.port }),
      ...(opts.database ? { database: opts.database } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.socketTimeoutMs !== undefined ? { socketTimeoutMs: opts.socketTimeoutMs } : {}),
      ...(this.tls ? { tlsCa: this.tls.caPem } : {}),
    });
  }

  /** Last lines of the error log, for diagnostics. */
  logTail(lines = 30): string {
    return tailFile(this.errorLog, lines);
  }

  /** Kills the server (SIGCONT, SIGKILL) and drops connections; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dropAdmin();
    await this.#proc?.kill();
  }

  async #writeConfig(): Promise<void> {
    const s = this.#spec;
    await mkdir(this.confDir, { recursive: true });
    const cnf = renderMyCnf({
      datadir: this.datadir,
      socket: this.socket,
      port: this.#port,
      host: this.host,
      pidFile: this.pidFile,
      errorLog: this.errorLog,
      tmpDir: join(this.dir, "tmp"),
      includeDir: this.confDir,
      serverId: s.serverId,
      domainId: s.domainId,
      readOnly: s.readOnly,
      semiSyncSlave: s.semiSyncSlave,
      ...(s.semiSyncMasterTimeoutMs !== undefined
        ? { semiSyncMasterTimeoutMs: s.semiSyncMasterTimeoutMs }
        : {}),
      extra: {
        ...(s.tls
          ? { ssl_cert: s.tls.serverCertFile, ssl_key: s.tls.serverKeyFile, ssl_ca: s.tls.caFile }
          : {}),
        ...s.extraConfig,
      },
    });
    await writeFile(this.defaultsFile, cnf);
  }

  async #startOnce(): Promise<void> {
    const [command, ...args] = this.serverArgv() as [string, ...string[]];
    const proc = ManagedProcess.spawn({
      command,
      args,
      logFile: join(this.dir, "mariadbd.out"),
      cwd: this.dir,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
    this.#proc = proc;
    const timeoutMs = this.#spec.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (!proc.isRunning()) {
        throw new LabError(
          LabErrorCode.StartFailed,
          `${this.name}: mariadbd exited during start (${JSON.stringify(proc.exitInfo)}):\n${this.logTail()}`,
        );
      }
      if (existsSync(this.socket)) {
        try {
          const conn = await this.connect({ connectTimeoutMs: 1_000, socketTimeoutMs: 5_000 });
          await closeQuietly(conn);
          return;
        } catch (err) {
          lastErr = err;
        }
      }
      await sleep(50);
    }
    await proc.kill();
    throw new LabError(
      LabErrorCode.StartFailed,
      `${this.name}: mariadbd did not answer within ${timeoutMs} ms:\n${this.logTail()}`,
      { cause: lastErr },
    );
  }

  async #adminConnection(): Promise<Connection> {
    this.#assertOpen();
    const current = this.#admin;
    if (current) {
      const conn = await current.catch(() => undefined);
      if (conn?.isValid()) return conn;
      if (this.#admin === current) this.#admin = undefined;
    }
    if (!this.#admin) {
      this.#admin = this.connect({
        socketTimeoutMs: this.#spec.queryTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
      });
    }
    const pending = this.#admin;
    try {
      return await pending;
    } catch (err) {
      if (this.#admin === pending) this.#admin = undefined;
      throw err;
    }
  }

  /** Drops the shared admin connection (a server that went away must not be asked on it). */
  protected resetAdmin(): void {
    this.#dropAdmin();
  }

  #dropAdmin(): void {
    const pending = this.#admin;
    this.#admin = undefined;
    pending?.then((c) => c.destroy()).catch(() => {});
  }

  #assertOpen(): void {
    if (this.#closed) throw new LabError(LabErrorCode.Closed, `${this.name}: the lab is closed`);
  }
}

/**
 * Every account that logs in over TCP (host '%') except the non-SUPER writer `app` must
 * use TLS (REQUIRE SSL): a client of Marina's that forgot TLS is refused, not let through.
 * Local (sql_log_bin=0), like the accounts themselves.
 */
async function requireTlsOverTcp(conn: Connection): Promise<void> {
  await conn.query("SET SESSION sql_log_bin=0");
  const rows = (await conn.query(
    "SELECT User AS user FROM mysql.user WHERE Host = '%' AND User NOT IN ('', 'app', 'root')",
  )) as Array<{ user: string }>;
  for (const r of rows) {
    await conn.query(`ALTER USER ${quoteIdent(r.user)}@'%' REQUIRE SSL`);
  }
}
