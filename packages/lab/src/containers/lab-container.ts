// One container of a lab and the faults the lab injects into it: kill -9 is the engine's
// SIGKILL, SIGSTOP is pause (the cgroup freezer), stop/start keep the container and its
// files. The container's output is copied to a file on this machine, so a failure can
// show its last lines like a native server's log.
import { createWriteStream, type WriteStream } from "node:fs";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { LabError, LabErrorCode } from "../errors.js";
import { sleep } from "../wait.js";
import { type Dockerode, type EngineContainer, LABEL_LAB, LABEL_OWNER_PID } from "./engine.js";
import { type ContainerNetwork, macAddress } from "./network.js";

export interface LabContainerSpec {
  readonly docker: Dockerode;
  readonly network: ContainerNetwork;
  readonly image: string;
  /** The container's name (unique on the engine). */
  readonly name: string;
  /**
   * Its name on the lab network: what the other containers reach it by, at an address of
   * its own that a restart keeps.
   */
  readonly alias: string;
  /** Container ports published on this machine's ports, fixed so a restart keeps them. */
  readonly ports: ReadonlyArray<{ readonly container: number; readonly host: number }>;
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  /** Files written into the container before it first starts. */
  readonly files: ReadonlyArray<{ readonly content: string; readonly target: string }>;
  /** The container's output is appended here. */
  readonly logFile: string;
  /** A line of output that says the first start is done. */
  readonly readyLog: RegExp;
  readonly startTimeoutMs: number;
}

type State = "new" | "running" | "paused" | "exited" | "removed";

export class LabContainer {
  readonly #spec: LabContainerSpec;
  #started: StartedTestContainer | undefined;
  #state: State = "new";
  #log: WriteStream | undefined;
  #pid: number | undefined;

  constructor(spec: LabContainerSpec) {
    this.#spec = spec;
    // Given now, not at creation: every server of the lab is constructed before the first
    // container is made, so each one's /etc/hosts names them all.
    spec.network.address(spec.alias);
  }

  get name(): string {
    return this.#spec.name;
  }

  /** Running (a paused container counts: its process exists, frozen). */
  isRunning(): boolean {
    return this.#state === "running" || this.#state === "paused";
  }

  /**
   * The engine's pid of the container's process while it runs (a process of this machine
   * on a local engine; on Docker Desktop, of its VM): it changes with every start.
   */
  get pid(): number | undefined {
    return this.isRunning() ? this.#pid : undefined;
  }

  get created(): boolean {
    return this.#started !== undefined;
  }

  /** Creates and starts the container, waiting for `readyLog`. */
  async create(): Promise<void> {
    if (this.#state === "removed") throw closed(this.#spec.name);
    const s = this.#spec;
    let c = new AddressedContainer(s.image)
      .withAddress(s.network.name, s.alias, s.network.address(s.alias))
      .withExtraHosts(s.network.hosts())
      .withName(s.name)
      .withExposedPorts(...s.ports.map((p) => ({ container: p.container, host: p.host })))
      .withLabels({ [LABEL_LAB]: "1", [LABEL_OWNER_PID]: String(process.pid) })
      .withCopyContentToContainer(s.files.map((f) => ({ content: f.content, target: f.target })))
      .withWaitStrategy(Wait.forLogMessage(s.readyLog))
      .withStartupTimeout(s.startTimeoutMs)
      // The lab removes it on close (and the sweep after a crash): a killed or stopped
      // container must stay to be started again.
      .withAutoRemove(false);
    if (s.entrypoint) c = c.withEntrypoint([...s.entrypoint]);
    if (s.command) c = c.withCommand([...s.command]);
    this.#log = createWriteStream(s.logFile, { flags: "a" });
    try {
      this.#started = await c.start();
    } catch (err) {
      // A container that was created but did not come up is still there: remove it.
      await this.#removeByName();
      throw new LabError(
        LabErrorCode.StartFailed,
        `${s.name}: the container did not start: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    this.#state = "running";
    await this.inspectRunning();
    await this.#followLogs(0);
  }

  /** The engine's SIGKILL to the container's process; resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.isRunning()) return;
    const c = this.#container();
    if (this.#state === "paused") {
      // SIGKILL before the thaw, like kill -9 of a stopped process: it dies as it thaws,
      // without running again. An engine that refuses to kill a paused container
      // (Docker) gets the thaw first, then the kill at once.
      const killed = await c.kill({ signal: "SIGKILL" }).then(
        () => true,
        () => false,
      );
      await c.unpause().catch(() => {});
      if (!killed) await c.kill({ signal: "SIGKILL" }).catch(ignoreNotRunning);
    } else {
      await c.kill({ signal: "SIGKILL" }).catch(ignoreNotRunning);
    }
    await this.#waitExited(10_000);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it has exited. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.isRunning()) return;
    const c = this.#container();
    if (this.#state === "paused") await c.unpause().catch(() => {});
    await c.stop({ t: Math.max(1, Math.ceil(timeoutMs / 1000)) }).catch(ignoreNotRunning);
    await this.#waitExited(timeoutMs + 10_000);
  }

  /** Starts the (stopped or killed) container again, same files, ports and alias. */
  async start(): Promise<void> {
    if (this.#state === "removed") throw closed(this.#spec.name);
    if (this.isRunning()) return;
    const since = Math.floor(Date.now() / 1000);
    await this.#container().start();
    this.#state = "running";
    await this.inspectRunning();
    await this.#followLogs(since);
  }

  /** Freezes every process of the container: connections stay open, nothing answers. */
  async pause(): Promise<void> {
    if (this.#state !== "running") return;
    await this.#container().pause();
    this.#state = "paused";
  }

  async unpause(): Promise<void> {
    if (this.#state !== "paused") return;
    await this.#container().unpause();
    this.#state = "running";
  }

  /** Whether the engine still runs it (a process that exited by itself shows here). */
  async inspectRunning(): Promise<boolean> {
    const info = await this.#container().inspect();
    this.#pid = info.State.Running && info.State.Pid > 0 ? info.State.Pid : undefined;
    if (!info.State.Running && this.#state !== "removed") this.#state = "exited";
    return info.State.Running;
  }

  /** Removes the container (killed first); safe to call twice. */
  async remove(): Promise<void> {
    if (this.#state === "removed") return;
    const wasPaused = this.#state === "paused";
    this.#state = "removed";
    if (this.#started) {
      const c = this.#container();
      if (wasPaused) await c.unpause().catch(() => {});
      await c.remove({ force: true, v: true }).catch(ignoreMissing);
    } else {
      await this.#removeByName();
    }
    this.#log?.end();
    this.#log = undefined;
  }

  #container(): EngineContainer {
    if (!this.#started) throw closed(this.#spec.name);
    return this.#spec.docker.getContainer(this.#started.getId());
  }

  async #removeByName(): Promise<void> {
    await this.#spec.docker
      .getContainer(this.#spec.name)
      .remove({ force: true, v: true })
      .catch(() => {});
  }

  async #waitExited(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.inspectRunning())) return;
      await sleep(25);
    }
    throw new LabError(
      LabErrorCode.Timeout,
      `${this.#spec.name}: still running ${timeoutMs} ms after the signal`,
    );
  }

  /** Appends the container's output from `since` (epoch seconds; 0: all) to the log file. */
  async #followLogs(since: number): Promise<void> {
    const started = this.#started;
    const log = this.#log;
    if (!started || !log) return;
    const stream = await started.logs(since > 0 ? { since } : {}).catch(() => undefined);
    stream?.on("data", (chunk: Buffer | string) => {
      if (!log.writableEnded) log.write(chunk);
    });
    stream?.on("error", () => {});
  }
}

/**
 * A container joined to its network at a fixed IP and MAC address, with its alias, when it
 * is created (testcontainers' own network option joins it after creation, at addresses the
 * engine picks at every start).
 */
class AddressedContainer extends GenericContainer {
  withAddress(network: string, alias: string, ip: string): this {
    const mac = macAddress(ip);
    this.networkMode = network;
    // The endpoint's MAC for Podman and Docker API 1.44+, the container's for older Docker.
    this.createOpts.MacAddress = mac;
    this.createOpts.NetworkingConfig = {
      EndpointsConfig: {
        [network]: { Aliases: [alias], IPAMConfig: { IPv4Address: ip }, MacAddress: mac },
      },
    };
    return this;
  }
}

function closed(name: string): LabError {
  return new LabError(LabErrorCode.Closed, `${name}: the lab is closed`);
}

/** 304/409: the container is not running (already exited). */
function ignoreNotRunning(err: unknown): void {
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 304 || status === 409) return;
  throw err;
}

function ignoreMissing(err: unknown): void {
  if ((err as { statusCode?: number }).statusCode === 404) return;
  throw err;
}
