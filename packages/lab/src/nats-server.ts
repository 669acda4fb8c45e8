import { existsSync, statSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { resolveBinary } from "./binaries.js";
import { LabError, LabErrorCode } from "./errors.js";
import { tailFile } from "./log-tail.js";
import { freePort } from "./ports.js";
import { type ExitInfo, ManagedProcess } from "./process.js";
import { sleep } from "./wait.js";

export interface NatsServerSpec {
  /** Directory for the store and log; must lie under the lab tree (`marina-lab-`). */
  readonly dir: string;
  readonly port?: number;
  readonly host?: string;
  readonly name?: string;
  readonly startTimeoutMs?: number;
}

interface ServerInfo {
  readonly jetstream?: boolean;
}

/** Connects, reads the INFO line the server greets every client with, and closes. */
function readInfo(host: string, port: number, timeoutMs: number): Promise<ServerInfo> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host, port });
    let buf = "";
    const done = (err: Error | undefined, info?: ServerInfo) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(info ?? {});
    };
    const timer = setTimeout(() => done(new Error("no INFO from nats-server")), timeoutMs);
    sock.on("error", (err) => done(err));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const end = buf.indexOf("\r\n");
      if (end < 0) return;
      const line = buf.slice(0, end);
      if (!line.startsWith("INFO ")) return done(new Error(`unexpected greeting: ${line}`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as ServerInfo);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

/** A nats-server with JetStream on 127.0.0.1, its store under the lab tree. */
export class NatsServer {
  readonly host: string;
  readonly dir: string;
  readonly storeDir: string;
  readonly logFile: string;
  readonly name: string;
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
    this.name = spec.name ?? "marina-lab-nats";
    this.#port = spec.port;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `nats://${this.host}:${this.#port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.isRunning() ? this.#proc.pid : undefined;
  }

  isRunning(): boolean {
    return this.#proc?.isRunning() ?? false;
  }

  /** Starts (or restarts, same port and store) and waits until JetStream is up. */
  async start(): Promise<void> {
    if (this.#closed) throw new LabError(LabErrorCode.Closed, "nats-server: the lab is closed");
    if (this.isRunning()) return;
    await mkdir(this.storeDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const offset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      try {
        await this.#startOnce();
        this.#everStarted = true;
        return;
      } catch (err) {
        const log = (await readFile(this.logFile, "utf8").catch(() => "")).slice(offset);
        if (!this.#everStarted && attempt < 4 && /address already in use/i.test(log)) {
          this.#port = await freePort(this.host);
          continue;
        }
        throw err;
      }
    }
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

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#proc?.kill();
  }

  async #startOnce(): Promise<void> {
    const proc = ManagedProcess.spawn({
      command: resolveBinary("nats-server"),
      args: [
        "-js",
        "-sd",
        this.storeDir,
        "-a",
        this.host,
        "-p",
        String(this.#port),
        "-n",
        this.name,
      ],
      logFile: this.logFile,
      cwd: this.dir,
    });
    this.#proc = proc;
    const timeoutMs = this.#spec.startTimeoutMs ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (!proc.isRunning()) {
        throw new LabError(
          LabErrorCode.StartFailed,
          `nats-server exited during start (${JSON.stringify(proc.exitInfo)}):\n${tailFile(this.logFile)}`,
        );
      }
      try {
        const info = await readInfo(this.host, this.#port, 1_000);
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
      `nats-server did not accept connections within ${timeoutMs} ms:\n${tailFile(this.logFile)}`,
      { cause: lastErr },
    );
  }
}

/** Starts a nats-server with JetStream in `dir` on a free port. */
export async function startNats(spec: NatsServerSpec): Promise<NatsServer> {
  const server = new NatsServer({ ...spec, port: spec.port ?? (await freePort(spec.host)) });
  await server.start();
  return server;
}
