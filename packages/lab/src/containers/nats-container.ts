// The lab's nats-server in a container: the NatsServer the tests use, reached on a mapped
// port of this machine (`url`), its config file written into the container.
import { mkdir } from "node:fs/promises";
import { LabError, LabErrorCode } from "../errors.js";
import {
  NatsServer,
  type NatsServerSpec,
  type NatsStartOptions,
  renderNatsConfig,
} from "../nats-server.js";
import type { ExitInfo } from "../process.js";
import { LabContainer } from "./lab-container.js";
import type { ContainerPlacement } from "./placement.js";

/** The client port inside the lab network. */
export const CONTAINER_NATS_PORT = 4222;
const CONF = "/etc/marina/nats-server.conf";

export interface ContainerNatsSpec
  extends Pick<NatsServerSpec, "dir" | "authorization" | "probeUser" | "startTimeoutMs"> {
  /** This machine's port, mapped to the container's 4222. */
  readonly port: number;
  readonly placement: ContainerPlacement;
}

export class ContainerNatsServer extends NatsServer {
  readonly #container: LabContainer;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(spec: ContainerNatsSpec) {
    super({
      dir: spec.dir,
      port: spec.port,
      host: spec.placement.host,
      name: "nats",
      ...(spec.authorization !== undefined ? { authorization: spec.authorization } : {}),
      ...(spec.probeUser !== undefined ? { probeUser: spec.probeUser } : {}),
    });
    this.#timeoutMs = spec.startTimeoutMs ?? 30_000;
    const p = spec.placement;
    // The official image's entrypoint is the server; the local image's too.
    this.#container = new LabContainer({
      docker: p.docker,
      network: p.network,
      image: p.images.nats,
      name: `${p.prefix}-nats`,
      alias: "nats",
      ports: [{ container: CONTAINER_NATS_PORT, host: spec.port }],
      command: ["-c", CONF],
      files: [
        {
          target: CONF,
          content: renderNatsConfig({
            name: this.name,
            host: "0.0.0.0",
            port: CONTAINER_NATS_PORT,
            storeDir: "/data/jetstream",
            authorization: spec.authorization,
          }),
        },
      ],
      logFile: this.logFile,
      readyLog: /Server is ready/,
      startTimeoutMs: this.#timeoutMs,
    });
  }

  override get pid(): number | undefined {
    return this.#container.pid;
  }

  override isRunning(): boolean {
    return this.#container.isRunning();
  }

  /** Creates the container on the first call, starts it again after a stop or kill. */
  override async start(opts: NatsStartOptions = {}): Promise<void> {
    if (this.#closed) throw new LabError(LabErrorCode.Closed, "nats-server: the lab is closed");
    if (this.isRunning()) return;
    await mkdir(this.dir, { recursive: true });
    if (this.#container.created) await this.#container.start();
    else await this.#container.create();
    if (opts.jetstream ?? true) await this.waitForJetStream(this.#timeoutMs);
  }

  override async stop(timeoutMs = 10_000): Promise<ExitInfo | undefined> {
    await this.#container.stop(timeoutMs);
    return undefined;
  }

  override async kill9(): Promise<ExitInfo | undefined> {
    await this.#container.kill();
    return undefined;
  }

  override async sigstop(): Promise<void> {
    await this.#container.pause();
  }

  override async sigcont(): Promise<void> {
    await this.#container.unpause();
  }

  override async close(): Promise<void> {
    this.#closed = true;
    await super.close().catch(() => {});
    await this.#container.remove();
  }
}
