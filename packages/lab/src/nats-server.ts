import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { renderNatsTls } from "@marina/contracts";
import { resolveBinary } from "./binaries.js";
import { LabError, LabErrorCode } from "./errors.js";
import { tailFile } from "./log-tail.js";
import { checkJetStream, readNatsInfo } from "./nats-probe.js";
import { freePort } from "./ports.js";
import { type ExitInfo, ManagedProcess } from "./process.js";
import type { LabTls } from "./tls.js";
import { sleep } from "./wait.js";

/** This server's part in a NATS cluster (`cluster {}` of its config file). */
export interface NatsClusterMembership {
  /** The cluster's name, the same on every node. */
  readonly name: string;
  /** Port of this node's route listener, on its host. */
  readonly port: number;
  /** Every node's route URL (`nats-route://host:port`); its own is ignored by the server. */
  readonly routes: readonly string[];
}

export interface NatsServerSpec {
  /** Directory for the store, config and log; must lie under the lab tree (`marina-lab-`). */
  readonly dir: string;
  readonly port?: number;
  /** The address it listens on (clients and routes). Default 127.0.0.1. */
  readonly host?: string;
  /** server_name: unique in a cluster. Default `marina-lab-nats`. */
  readonly name?: string;
  readonly startTimeoutMs?: number;
  /** Join a cluster (JetStream clustered); absent: a standalone server. */
  readonly cluster?: NatsClusterMembership;
  /**
   * Wraps the server's argv before it is spawned, e.g. to run it in a network namespace
   * (`["ip", "netns", "exec", ns, ...argv]`); the wrapper must exec the server.
   */
  readonly wrap?: (argv: string[]) => string[];
  /** Serve nats-server's HTTP monitoring (`/connz`, `/routez`, …) on this port of `host`. */
  readonly monitorPort?: number;
  /** Users and permissions: an `authorization { … }` block (and `no_auth_user`), verbatim. */
  readonly authorization?: string;
  /** The user the lab's readiness probes log in as, when clients must authenticate. */
  readonly probeUser?: { readonly user: string; readonly password: string };
  /** TLS for clients (required of every one) and, in a cluster, for routes (verified). */
  readonly tls?: LabTls;
}

export interface NatsStartOptions {
  /**
   * Wait until JetStream answers through this server (default): in a cluster, that needs a
   * meta leader, i.e. a quorum of nodes up. false: only until it greets clients.
   */
  readonly jetstream?: boolean;
}

/** True if `host` can be bound here (loopback, any, or an address of an interface). */
function bindableHere(host: string): boolean {
  if (host === "0.0.0.0" || host === "::" || host.startsWith("127.") || host === "::1") {
    return true;
  }
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.address === host),
  );
}

/**
 * A port free for a server on `host`. An address of another network namespace cannot be
 * bound from here, but its port space is its own: a port free on loopback will do.
 */
export function freePortFor(host: string): Promise<number> {
  return freePort(bindableHere(host) ? host : "127.0.0.1");
}

const quote = (s: string) => JSON.stringify(s);

/**
 * The pings of a lab cluster's servers (top level: nats-server 2.9 uses them for clients
 * and routes alike). The defaults (2 min, 2 pings out) keep a frozen or partitioned peer for
 * minutes; with these a silent client or idle route is dropped after about 2–3 s. A busy
 * route is not: 2.9 sends no PING on a connection it wrote to within the interval, and
 * raft writes to every route each second, so a route to a partitioned server lasts until
 * TCP gives up (LabOptions.natsTcpRetries2). Marina's recommendation too
 * (docs/operations.md, "Running on a NATS cluster").
 */
export const LAB_NATS_PING = { interval: "1s", max: 2 } as const;

/** The server's config file: JetStream with its store, and its cluster block if any. */
export function renderNatsConfig(o: {
  name: string;
  host: string;
  port: number;
  storeDir: string;
  cluster?: NatsClusterMembership | undefined;
  monitorPort?: number | undefined;
  authorization?: string | undefined;
  tls?: LabTls | undefined;
}): string {
  const tlsBlock = (indent: string, verify: boolean) =>
    o.tls
      ? renderNatsTls(
          { cert: o.tls.serverCertFile, key: o.tls.serverKeyFile, ca: o.tls.caFile },
          indent,
          verify,
        )
      : [];
  const lines = [
    `server_name: ${quote(o.name)}`,
    `listen: ${quote(`${o.host}:${o.port}`)}`,
    ...(o.monitorPort !== undefined ? [`http: ${quote(`${o.host}:${o.monitorPort}`)}`] : []),
    // A cluster's: a standalone server keeps the defaults (no routes to lose).
    ...(o.cluster
      ? [`ping_interval: ${quote(LAB_NATS_PING.interval)}`, `ping_max: ${LAB_NATS_PING.max}`]
      : []),
    `jetstream {`,
    `  store_dir: ${quote(o.storeDir)}`,
    `}`,
  ];
  if (o.authorization) lines.push(o.authorization.trimEnd());
  lines.push(...tlsBlock("", false));
  if (o.cluster) {
    lines.push(
      `cluster {`,
      `  name: ${quote(o.cluster.name)}`,
      `  listen: ${quote(`${o.host}:${o.cluster.port}`)}`,
      ...tlsBlock("  ", true),
      `  routes: [`,
      ...o.cluster.routes.map((r) => `    ${quote(r)}`),
      `  ]`,
      `}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** A nats-server with JetStream (standalone or one node of a cluster), its store under the lab tree. */
export class NatsServer {
  readonly host: string;
  readonly dir: string;
  readonly storeDir: string;
  readonly logFile: string;
  readonly configFile: string;
  readonly name: string;
  readonly cluster: NatsClusterMembership | undefined;
  readonly #spec: NatsServerSpec;
  #port: number;
  #proc: ManagedProcess | undefined;
  #everStarted = false;
  #closed = false;

  constructor(spec: NatsServerSpec & { port: number }) {
    this.#spec = spec;
    this.host = spec.host ?? "127.0.0.1";
    this.dir = spec.dir;
    this.storeDir = join(spec.dir, "jetstream");
    this.logFile = join(spec.dir, "nats-server.log");
    this.configFile = join(spec.dir, "nats-server.conf");
    this.name = spec.name ?? "marina-lab-nats";
    this.cluster = spec.cluster;
    this.#port = spec.port;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `nats://${this.host}:${this.#port}`;
  }

  /** `http://host:port` of the monitoring endpoints (`/connz`, `/routez`), if served. */
  get monitorUrl(): string | undefined {
    const p = this.#spec.monitorPort;
    return p === undefined ? undefined : `http://${this.host}:${p}`;
  }

  /** `nats-route://host:port` when clustered. */
  get routeUrl(): string | undefined {
    return this.cluster ? `nats-route://${this.host}:${this.cluster.port}` : undefined;
  }

  get pid(): number | undefined {
    return this.#proc?.isRunning() ? this.#proc.pid : undefined;
  }

  isRunning(): boolean {
    return this.#proc?.isRunning() ?? false;
  }

  /**
   * Starts (or restarts, same ports and store) and waits until JetStream answers through
   * it (see NatsStartOptions).
   */
  async start(opts: NatsStartOptions = {}): Promise<void> {
    if (this.#closed) throw new LabError(LabErrorCode.Closed, "nats-server: the lab is closed");
    if (this.isRunning()) return;
    await mkdir(this.storeDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const offset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      try {
        await this.#startOnce(opts.jetstream ?? true);
        this.#everStarted = true;
        return;
      } catch (err) {
        const log = (await readFile(this.logFile, "utf8").catch(() => "")).slice(offset);
        // Only the client port may move: the others' routes name this node's route port.
        const clientPortTaken = log
          .split("\n")
          .some((l) => /address already in use/i.test(l) && l.includes(`:${this.#port}`));
        if (!this.#everStarted && attempt < 4 && clientPortTaken) {
          this.#port = await freePortFor(this.host);
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Resolves once JetStream answers through this server (in a cluster: a meta leader is
   * elected and reachable); rejects after `timeoutMs` with the last answer.
   */
  async waitForJetStream(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (!this.isRunning())
        throw new LabError(LabErrorCode.StartFailed, `${this.name} is not running`);
      try {
        await this.#probeJetStream();
        return;
      } catch (err) {
        lastErr = err;
      }
      await sleep(50);
    }
    throw new LabError(
      LabErrorCode.Timeout,
      `${this.name}: JetStream not usable within ${timeoutMs} ms (${String(lastErr)})`,
      { cause: lastErr, retryable: true },
    );
  }

  /** One JetStream request through this server, as the lab's user, over TLS when it has it. */
  #probeJetStream(): Promise<unknown> {
    return checkJetStream(
      this.host,
      this.#port,
      1_000,
      this.#spec.probeUser,
      this.#spec.tls?.caPem,
    );
  }

  async stop(timeoutMs = 10_000): Promise<ExitInfo | undefined> {
    return this.#proc?.terminate(timeoutMs);
  }

  async kill9(): Promise<ExitInfo | undefined> {
    return this.#proc?.kill();
  }

  /** SIGSTOP; resolves once every thread is stopped. */
  async sigstop(): Promise<void> {
    await this.#proc?.freeze();
  }

  /** SIGCONT; resolves once no thread is stopped. */
  async sigcont(): Promise<void> {
    await this.#proc?.thaw();
  }

  async restart(opts: NatsStartOptions = {}): Promise<void> {
    await this.stop();
    await this.start(opts);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#proc?.kill();
  }

  async #startOnce(jetstream: boolean): Promise<void> {
    await writeFile(
      this.configFile,
      renderNatsConfig({
        name: this.name,
        host: this.host,
        port: this.#port,
        storeDir: this.storeDir,
        cluster: this.cluster,
        monitorPort: this.#spec.monitorPort,
        authorization: this.#spec.authorization,
        tls: this.#spec.tls,
      }),
    );
    const argv = [resolveBinary("nats-server"), "-c", this.configFile];
    const [command, ...args] = this.#spec.wrap ? this.#spec.wrap(argv) : argv;
    if (!command) throw new LabError(LabErrorCode.BadOptions, "nats-server: wrap() gave no argv");
    const proc = ManagedProcess.spawn({ command, args, logFile: this.logFile, cwd: this.dir });
    this.#proc = proc;
    const timeoutMs = this.#spec.startTimeoutMs ?? (this.cluster ? 30_000 : 20_000);
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (!proc.isRunning()) {
        throw new LabError(
          LabErrorCode.StartFailed,
          `nats-server ${this.name} exited during start (${JSON.stringify(proc.exitInfo)}):\n${tailFile(this.logFile)}`,
        );
      }
      try {
        if (jetstream) {
          await this.#probeJetStream();
          return;
        }
        const info = await readNatsInfo(this.host, this.#port, 1_000);
        if (info.jetstream) return;
        lastErr = new Error("INFO does not announce JetStream yet");
      } catch (err) {
        lastErr = err;
      }
      await sleep(25);
    }
    await proc.kill();
    throw new LabError(
      LabErrorCode.StartFailed,
      `nats-server ${this.name} not ready within ${timeoutMs} ms (${String(lastErr)}):\n${tailFile(this.logFile)}`,
      { cause: lastErr },
    );
  }
}

/** Starts a standalone nats-server with JetStream in `dir` on a free port. */
export async function startNats(spec: NatsServerSpec): Promise<NatsServer> {
  const host = spec.host ?? "127.0.0.1";
  const server = new NatsServer({ ...spec, port: spec.port ?? (await freePortFor(host)) });
  await server.start();
  return server;
}
