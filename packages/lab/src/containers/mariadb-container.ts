// A MariaDB server of the containers backend: the same MariaNode the tests use, its
// mariadbd in a container. Two addresses: the host's mapped port (`host`/`port`, where
// Marina and the tests connect) and the network alias with 3306 (`replicationHost`/
// `replicationPort`, where the other servers replicate from it).
import { mkdir, writeFile } from "node:fs/promises";
import { type Connection, closeQuietly } from "../connection.js";
import { LabError, LabErrorCode } from "../errors.js";
import { MariaNode, type MariaNodeSpec, type NodeConnectOptions } from "../mariadb-node.js";
import { renderMyCnf } from "../mycnf.js";
import type { ExitInfo } from "../process.js";
import { quoteIdent } from "../sql.js";
import { sleep } from "../wait.js";
import { LabContainer } from "./lab-container.js";
import type { ContainerPlacement } from "./placement.js";

/** The server's port inside the lab network, as on real machines. */
export const CONTAINER_MARIADB_PORT = 3306;
const CONF_DIR = "/etc/marina";
const CNF = `${CONF_DIR}/my.cnf`;
const START = `${CONF_DIR}/start.sh`;
const INIT_SQL = `${CONF_DIR}/init.sql`;
const DATA_ROOT = "/var/lib/marina";
export const CONTAINER_DATADIR = `${DATA_ROOT}/data`;
export const CONTAINER_SOCKET = "/run/marina/mariadb.sock";

/**
 * The container's entrypoint (fixed text, nothing from input): the datadir initialised on
 * the first start only, then mariadbd in the foreground as the container's process, so
 * the engine's signals reach it; its init file gives root a TCP login (below). Works on
 * the official image and on Debian's packages.
 */
const START_SCRIPT = `#!/bin/sh
set -e
mkdir -p ${CONTAINER_DATADIR} ${DATA_ROOT}/tmp /run/marina
if [ ! -f ${DATA_ROOT}/initialised ]; then
  mariadb-install-db --defaults-file=${CNF} --auth-root-authentication-method=normal \\
    --skip-test-db --skip-name-resolve >${DATA_ROOT}/install.log 2>&1 || { cat ${DATA_ROOT}/install.log >&2; exit 1; }
  touch ${DATA_ROOT}/initialised
fi
exec mariadbd --defaults-file=${CNF} --init-file=${INIT_SQL}
`;

/**
 * Run by mariadbd at every start, before it serves clients: root may log in over TCP with
 * the lab's password (this machine reaches the server only through the mapped port).
 * Local to the server (sql_log_bin=0), like the lab's accounts; idempotent. No `exec` into
 * the container: each would leave a conmon behind on Podman for a while.
 */
function initSql(root: { user: string; password: string }): string {
  const who = `${quoteIdent(root.user)}@'%'`;
  return [
    "SET SESSION sql_log_bin=0;",
    `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY '${sqlString(root.password)}';`,
    `GRANT ALL PRIVILEGES ON *.* TO ${who} WITH GRANT OPTION;`,
    "",
  ].join("\n");
}

export interface ContainerNodeSpec extends MariaNodeSpec {
  readonly placement: ContainerPlacement;
}

export class ContainerMariaNode extends MariaNode {
  readonly #spec: ContainerNodeSpec;
  readonly #container: LabContainer;
  readonly #cnf: string;

  constructor(spec: ContainerNodeSpec) {
    super({
      ...spec,
      host: spec.placement.host,
      serverPaths: { datadir: CONTAINER_DATADIR, socket: CONTAINER_SOCKET },
    });
    this.#spec = spec;
    const p = spec.placement;
    this.#cnf = renderMyCnf({
      datadir: CONTAINER_DATADIR,
      socket: CONTAINER_SOCKET,
      port: CONTAINER_MARIADB_PORT,
      // report_host: what SHOW SLAVE HOSTS shows, the alias replicas use.
      host: spec.name,
      pidFile: "/run/marina/mariadbd.pid",
      errorLog: "",
      tmpDir: `${DATA_ROOT}/tmp`,
      serverId: spec.serverId,
      domainId: spec.domainId,
      readOnly: spec.readOnly,
      semiSyncSlave: spec.semiSyncSlave,
      ...(spec.semiSyncMasterTimeoutMs !== undefined
        ? { semiSyncMasterTimeoutMs: spec.semiSyncMasterTimeoutMs }
        : {}),
      // stderr is the container's log; every address of the container is served.
      extra: { log_error: false, bind_address: "0.0.0.0", ...spec.extraConfig },
    });
    this.#container = new LabContainer({
      docker: p.docker,
      network: p.network,
      image: p.images.mariadb,
      name: `${p.prefix}-${spec.name}`,
      alias: spec.name,
      ports: [{ container: CONTAINER_MARIADB_PORT, host: spec.port }],
      entrypoint: ["/bin/sh", START],
      command: [],
      files: [
        { content: this.#cnf, target: CNF },
        { content: START_SCRIPT, target: START },
        { content: initSql(spec.credentials.root), target: INIT_SQL },
      ],
      logFile: this.errorLog,
      readyLog: /ready for connections/,
      startTimeoutMs: spec.startTimeoutMs ?? 60_000,
    });
  }

  override get replicationHost(): string {
    return this.name;
  }

  override get replicationPort(): number {
    return CONTAINER_MARIADB_PORT;
  }

  /** The container's process (see LabContainer.pid), undefined while it is down. */
  override get pid(): number | undefined {
    return this.#container.pid;
  }

  override isRunning(): boolean {
    return this.#container.isRunning();
  }

  /** The container's name on the engine. */
  override get container(): string {
    return this.#container.name;
  }

  /** The node's directory here (its my.cnf copy and the container's log). */
  override async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.defaultsFile, this.#cnf);
  }

  /** Creates and starts the container (its entrypoint initialises the datadir). */
  override async init(): Promise<void> {
    await this.prepare();
    await this.#container.create();
    await this.#waitAnswering();
  }

  override async start(): Promise<void> {
    if (!this.#container.created) {
      throw new LabError(
        LabErrorCode.BadOptions,
        `${this.name}: init() first (the container is made there)`,
      );
    }
    if (this.isRunning()) return;
    await this.#container.start();
    await this.#waitAnswering();
  }

  override async stop(timeoutMs = 30_000): Promise<ExitInfo | undefined> {
    this.resetAdmin();
    await this.#container.stop(timeoutMs);
    return undefined;
  }

  override async kill9(): Promise<ExitInfo | undefined> {
    this.resetAdmin();
    await this.#container.kill();
    return undefined;
  }

  /** The container paused (cgroup freezer): connections stay open, nothing answers. */
  override async sigstop(): Promise<void> {
    await this.#container.pause();
  }

  override async sigcont(): Promise<void> {
    await this.#container.unpause();
  }

  /** Root too over TCP, through the mapped port: the socket is inside the container. */
  override connect(opts: NodeConnectOptions = {}): Promise<Connection> {
    return super.connect({ ...opts, via: "tcp" });
  }

  override serverArgv(): string[] {
    throw new LabError(
      LabErrorCode.BadOptions,
      `${this.name}: runs in a container; there is no server command on this machine (agents are not supported on the containers backend)`,
    );
  }

  override async close(): Promise<void> {
    this.resetAdmin();
    await super.close().catch(() => {});
    await this.#container.remove();
  }

  async #waitAnswering(): Promise<void> {
    const timeoutMs = this.#spec.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      try {
        const conn = await this.connect({ connectTimeoutMs: 1_000, socketTimeoutMs: 5_000 });
        await closeQuietly(conn);
        return;
      } catch (err) {
        lastErr = err;
      }
      if (!(await this.#container.inspectRunning())) {
        throw new LabError(
          LabErrorCode.StartFailed,
          `${this.name}: the container exited during start:\n${this.logTail()}`,
        );
      }
      await sleep(100);
    }
    throw new LabError(
      LabErrorCode.StartFailed,
      `${this.name}: mariadbd in its container did not answer within ${timeoutMs} ms:\n${this.logTail()}`,
      { cause: lastErr },
    );
  }
}

function sqlString(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/'/g, "''");
}
