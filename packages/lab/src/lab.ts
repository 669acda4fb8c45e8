import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LabBackend, labBackendFromEnv } from "./backend.js";
import { resolveBinary } from "./binaries.js";
import {
  type CredentialOverrides,
  type LabCredentials,
  resolveCredentials,
} from "./credentials.js";
import { LabError, LabErrorCode } from "./errors.js";
import { guardDir, releaseDir } from "./exit-guard.js";
import { MariaNode, type MariaNodeSpec } from "./mariadb-node.js";
import type { CnfValue } from "./mycnf.js";
import {
  type LabNatsAuth,
  type LabNatsUsers,
  labAuthorization,
  makeLabNatsUsers,
} from "./nats-auth.js";
import { createNatsCluster, type NatsCluster, type NatsNodeSpec } from "./nats-cluster.js";
import { NatsServer, type NatsServerSpec } from "./nats-server.js";
import { createNetwork, type LabHost, type LabNetwork } from "./netns.js";
import { runCommand } from "./netns-command.js";
import { freePort, freePorts } from "./ports.js";
import { changeMaster, enableSemiSyncMaster, waitForReplicating } from "./replication.js";
import { makeLabDir, removeTree } from "./temp-tree.js";
import { type LabTls, makeLabTls } from "./tls.js";
import { LabShape, type NodePlan, planTopology } from "./topology-plan.js";

export interface LabOptions {
  /** Default 'primary-replicas'. */
  readonly shape?: LabShape;
  /** Number of mariadbd nodes. Default 3 (multi-source: 2 primaries + replicas). */
  readonly nodes?: number;
  /** Semi-sync: slave side on every replica, master side on each primary once replicas run. */
  readonly semiSync?: boolean;
  /**
   * read_only=1 in EVERY server's my.cnf, the primaries made writable at runtime once
   * started (as Marina does on promotion): Marina's recommended setting — a server that
   * restarts never comes back writable by itself. Default true; false puts read_only=0 in
   * the primaries' my.cnf.
   */
  readonly readOnlyInConfig?: boolean;
  /** rpl_semi_sync_master_timeout in ms (server default 10000). */
  readonly semiSyncMasterTimeoutMs?: number;
  /** Start a nats-server with JetStream. Default true. */
  readonly nats?: boolean;
  /**
   * NATS users (`lab.natsUsers`): one per Marina role with that role's permissions, and
   * `lab`, unrestricted. "lab" (default): a client without credentials is `lab`; "strict":
   * it is refused, as in production; "off": no authorization at all.
   */
  readonly natsAuth?: LabNatsAuth;
  /**
   * "fail" (default): close() throws when a Marina identity (`marina-*`) was refused
   * anything by NATS permissions while the lab ran — so every test proves each identity's
   * permissions are enough. "allow": for tests that provoke refusals on purpose.
   */
  readonly natsViolations?: "fail" | "allow";
  /**
   * TLS everywhere (`lab.tls` has the CA and certificates, made with openssl): mariadbd
   * with ssl_cert/ssl_key/ssl_ca, replication with MASTER_SSL=1 and the server certificate
   * verified, every account that logs in over TCP (but `app`) REQUIRE SSL, and every
   * nats-server requiring TLS of its clients and routes. Default false.
   */
  readonly tls?: boolean;
  /**
   * How many nats-servers: 1 (default) is a standalone one; more make a JetStream cluster
   * (`lab.natsCluster`, nodes nats1…natsN), `lab.nats` being its first node.
   */
  readonly natsNodes?: number;
  /**
   * Multi-host mode: every mariadbd in its own network namespace (a host named after the
   * node, on a bridge, 10.231.N.x, port 3306), replication across the bridge, partitions
   * through `lab.network`; every nats-server too, on hosts `nats1`…`natsN` (ports 4222 and
   * 6222). Default false: everything on 127.0.0.1.
   */
  readonly hosts?: boolean;
  /**
   * Hosts mode: more hosts with nothing on them, for Marina's services or clients to run in
   * (`lab.hostOf(name)`), e.g. a second monitor's vantage point. Names must not be a node's
   * or a NATS host's.
   */
  readonly extraHosts?: readonly string[];
  /**
   * Hosts mode: `net.ipv4.tcp_retries2` in the NATS hosts' namespaces (kernel default 15:
   * about 15 min). nats-server 2.9 sends no route PING while it has sent anything on the
   * route within `ping_interval`, and a JetStream cluster always has (raft), so a route to a
   * partitioned node lives until TCP gives up on its unacknowledged data: 3 gives up after
   * about 3–7 s, 5 after about 13 s. Default with a NATS cluster in hosts mode: 3 (what
   * docs/operations.md recommends for NATS hosts); 15 gives the kernel's default behaviour.
   */
  readonly natsTcpRetries2?: number;
  /** Where the `marina-lab-XXXX` tree is made. Default os.tmpdir(). */
  readonly parentDir?: string;
  /** Keep the tree after close() (processes are still killed). Also MARINA_LAB_KEEP=1. */
  readonly keep?: boolean;
  readonly credentials?: CredentialOverrides;
  /** Extra [mysqld] settings for every node (false removes a default). */
  readonly mysqld?: Readonly<Record<string, CnfValue>>;
  /** Extra [mysqld] settings per node name; win over `mysqld`. */
  readonly nodeConfig?: Readonly<Record<string, Readonly<Record<string, CnfValue>>>>;
  readonly startTimeoutMs?: number;
  /** socketTimeout of node.query(). Default 10 s. */
  readonly queryTimeoutMs?: number;
}

export interface AddNodeOptions {
  /** Default true: mariadb-install-db, start, create the lab accounts (sql_log_bin=0). */
  readonly init?: boolean;
  readonly domainId?: number;
  readonly readOnly?: boolean;
  /** Semi-sync slave side in my.cnf. Default: the lab's semiSync. */
  readonly semiSyncSlave?: boolean;
  readonly config?: Readonly<Record<string, CnfValue>>;
}

export interface NodeInfo {
  readonly name: string;
  readonly role: NodePlan["role"];
  readonly host: string;
  readonly port: number;
  readonly socket: string;
  readonly datadir: string;
  readonly defaultsFile: string;
  readonly serverId: number;
  readonly domainId: number;
  readonly pid: number | undefined;
  readonly sources: NodePlan["sources"];
  /** The node's network namespace (hosts mode). */
  readonly netns?: string;
  /** Where replicas reach it, when not host:port (containers: its network alias). */
  readonly replicationAddress?: { readonly host: string; readonly port: number };
  /** The container it runs in (containers backend). */
  readonly container?: string;
}

/** What a lab is, as plain data (printed by the CLI, written to <dir>/lab.json). */
export interface LabInfo {
  readonly dir: string;
  /** Where the servers run (MARINA_LAB_BACKEND). */
  readonly backend: LabBackend;
  readonly shape: LabShape;
  readonly semiSync: boolean;
  readonly nodes: readonly NodeInfo[];
  readonly nats:
    | {
        /** The first (or only) server's. */
        readonly url: string;
        readonly pid: number | undefined;
        /** Every server's client URL. */
        readonly urls: readonly string[];
        readonly nodes: ReadonlyArray<{
          readonly name: string;
          readonly url: string;
          readonly pid: number | undefined;
        }>;
      }
    | undefined;
  readonly credentials: LabCredentials;
  /** NATS users and passwords (undefined: authorization off). */
  readonly natsUsers?: LabNatsUsers;
  /** Hosts mode: the lab network (nodes' namespaces are in `nodes[].netns`). */
  readonly network?: {
    readonly subnet: string;
    readonly rootAddress: string;
    readonly switchNs: string;
  };
}

export interface Lab {
  readonly dir: string;
  readonly shape: LabShape;
  readonly semiSync: boolean;
  readonly plan: readonly NodePlan[];
  readonly nodes: readonly MariaNode[];
  /** The initial primary (db1). */
  readonly primary: MariaNode;
  /** Initial primaries (two in multi-source). */
  readonly primaries: readonly MariaNode[];
  /** Every node that replicates initially (relays included). */
  readonly replicas: readonly MariaNode[];
  /** The nats-server: the only one, or the cluster's first node. */
  readonly nats: NatsServer | undefined;
  /** With `natsNodes` > 1: every node of the NATS cluster. */
  readonly natsCluster: NatsCluster | undefined;
  /** Every nats-server's client URL ([lab.nats.url] for one; [] without NATS). */
  readonly natsUrls: readonly string[];
  readonly credentials: LabCredentials;
  /** NATS users (see LabOptions.natsAuth); undefined when authorization is off. */
  readonly natsUsers: LabNatsUsers | undefined;
  /** The lab's CA and certificates (LabOptions.tls); undefined without TLS. */
  readonly tls: LabTls | undefined;
  node(name: string): MariaNode;
  /** Hosts mode: the network (partitions: isolate, cut, cutOneWay, heal); else undefined. */
  readonly network: LabNetwork | undefined;
  /** Hosts mode: the host a node runs on (named after it). Throws on a loopback lab. */
  hostOf(nodeName: string): LabHost;
  /**
   * Adds a node to the running lab (next dbN name and server_id, free port, read_only=1),
   * not wired into replication. With `init: false` its datadir stays empty and the server
   * is not started: a target for a physical restore. Closed with the lab.
   */
  addNode(opts?: AddNodeOptions): Promise<MariaNode>;
  info(): LabInfo;
  readonly closed: boolean;
  /** Kills everything (SIGCONT, SIGKILL, wait) and removes the tree. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * What a backend other than the native one adds to a lab: how addNode() makes a node, and
 * what to remove after every server is closed.
 */
export interface LabBackendHooks {
  readonly backend: LabBackend;
  makeNode(spec: MariaNodeSpec): MariaNode;
  /** Runs after every server is closed (the backend's network, say). */
  close(): Promise<void>;
}

export class LabImpl implements Lab {
  readonly dir: string;
  readonly shape: LabShape;
  readonly semiSync: boolean;
  readonly plan: NodePlan[];
  readonly nodes: MariaNode[];
  readonly nats: NatsServer | undefined;
  readonly natsCluster: NatsCluster | undefined;
  readonly credentials: LabCredentials;
  readonly natsUsers: LabNatsUsers | undefined;
  readonly tls: LabTls | undefined;
  readonly network: LabNetwork | undefined;
  readonly #keep: boolean;
  readonly #opts: LabOptions;
  readonly #hooks: LabBackendHooks | undefined;
  #lastServerId: number;
  #closing: Promise<void> | undefined;

  constructor(args: {
    dir: string;
    shape: LabShape;
    semiSync: boolean;
    plan: NodePlan[];
    nodes: MariaNode[];
    nats: NatsServer | undefined;
    natsCluster: NatsCluster | undefined;
    credentials: LabCredentials;
    natsUsers: LabNatsUsers | undefined;
    tls: LabTls | undefined;
    network: LabNetwork | undefined;
    keep: boolean;
    opts: LabOptions;
    hooks?: LabBackendHooks;
  }) {
    this.dir = args.dir;
    this.shape = args.shape;
    this.semiSync = args.semiSync;
    this.plan = args.plan;
    this.nodes = args.nodes;
    this.nats = args.nats;
    this.natsCluster = args.natsCluster;
    this.natsUsers = args.natsUsers;
    this.tls = args.tls;
    this.credentials = args.credentials;
    this.network = args.network;
    this.#keep = args.keep;
    this.#opts = args.opts;
    this.#hooks = args.hooks;
    this.#lastServerId = Math.max(0, ...args.nodes.map((n) => n.serverId));
  }

  get natsUrls(): string[] {
    if (this.natsCluster) return this.natsCluster.urls;
    return this.nats ? [this.nats.url] : [];
  }

  get primary(): MariaNode {
    return this.nodes[0] as MariaNode;
  }

  get primaries(): MariaNode[] {
    return this.nodes.filter((_, i) => this.plan[i]?.role === "primary");
  }

  get replicas(): MariaNode[] {
    return this.nodes.filter((_, i) => this.plan[i]?.role !== "primary");
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  node(name: string): MariaNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new LabError(LabErrorCode.BadOptions, `no node named ${name} in this lab`);
    return n;
  }

  hostOf(nodeName: string): LabHost {
    if (!this.network) {
      throw new LabError(LabErrorCode.BadOptions, "a loopback lab has no hosts (use hosts: true)");
    }
    return this.network.host(nodeName);
  }

  async addNode(o: AddNodeOptions = {}): Promise<MariaNode> {
    if (this.closed) throw new LabError(LabErrorCode.Closed, "the lab is closed");
    // Reserved synchronously: concurrent addNode() calls get distinct ids.
    const serverId = ++this.#lastServerId;
    const name = `db${serverId}`;
    const host = await this.network?.addHost(name);
    const spec: MariaNodeSpec = {
      name,
      labDir: this.dir,
      ...(host ? hostPlacement(host) : { port: await freePort() }),
      serverId,
      domainId: o.domainId ?? 0,
      readOnly: o.readOnly ?? true,
      semiSyncSlave: o.semiSyncSlave ?? this.semiSync,
      credentials: this.credentials,
      extraConfig: { ...this.#opts.mysqld, ...o.config },
      // The certificate names 127.0.0.1 and the hosts made at start, not a new host's address.
      ...(this.tls ? { tls: this.tls } : {}),
    };
    const node = this.#hooks ? this.#hooks.makeNode(spec) : makeNode(this.#opts, spec);
    this.nodes.push(node);
    this.plan.push({ name, serverId, domainId: node.domainId, role: "replica", sources: [] });
    if (o.init ?? true) {
      await node.init();
      await node.start();
      await node.createAccounts();
    } else {
      await node.prepare();
    }
    return node;
  }

  info(): LabInfo {
    return {
      dir: this.dir,
      backend: this.#hooks?.backend ?? LabBackend.Native,
      shape: this.shape,
      semiSync: this.semiSync,
      nodes: this.nodes.map((n, i) => ({
        name: n.name,
        role: this.plan[i]?.role ?? "replica",
        host: n.host,
        port: n.port,
        socket: n.socket,
        datadir: n.datadir,
        defaultsFile: n.defaultsFile,
        serverId: n.serverId,
        domainId: n.domainId,
        pid: n.pid,
        sources: this.plan[i]?.sources ?? [],
        ...(n.netns !== undefined ? { netns: n.netns } : {}),
        ...(n.replicationHost !== n.host || n.replicationPort !== n.port
          ? { replicationAddress: { host: n.replicationHost, port: n.replicationPort } }
          : {}),
        ...(n.container !== undefined ? { container: n.container } : {}),
      })),
      nats: this.nats
        ? {
            url: this.nats.url,
            pid: this.nats.pid,
            urls: this.natsUrls,
            nodes: (this.natsCluster?.nodes ?? [this.nats]).map((n) => ({
              name: n.name,
              url: n.url,
              pid: n.pid,
            })),
          }
        : undefined,
      credentials: this.credentials,
      ...(this.natsUsers ? { natsUsers: this.natsUsers } : {}),
      ...(this.network
        ? {
            network: {
              subnet: this.network.subnet,
              rootAddress: this.network.rootAddress,
              switchNs: this.network.switchNs,
            },
          }
        : {}),
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // allSettled: one process that fails to close must not keep the rest (and the network,
    // and the tree) from being cleaned up; the first failure is rethrown at the end.
    const closed = await Promise.allSettled([
      ...this.nodes.map((n) => n.close()),
      this.natsCluster ? this.natsCluster.close() : this.nats?.close(),
    ]);
    // After the processes: nothing may still be bound to an address being removed.
    await this.network?.close();
    await this.#hooks?.close();
    const violations =
      (this.#opts.natsViolations ?? "fail") === "fail" ? await this.#marinaViolations() : [];
    if (!this.#keep) {
      await removeTree(this.dir);
      releaseDir(this.dir);
    }
    const failed = closed.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    if (violations.length > 0) {
      throw new LabError(
        LabErrorCode.NatsPermissionViolation,
        `NATS refused a Marina identity ${violations.length} time(s); first:\n${violations.slice(0, 5).join("\n")}`,
      );
    }
  }

  /** nats-server log lines where a `marina-*` user was refused a publish or subscribe. */
  async #marinaViolations(): Promise<string[]> {
    const servers = this.natsCluster?.nodes ?? (this.nats ? [this.nats] : []);
    const logs = await Promise.all(servers.map((n) => readFile(n.logFile, "utf8").catch(() => "")));
    return logs.flatMap((l) => l.split("\n")).filter((l) => /Violation - User "marina-/.test(l));
  }
}

/**
 * Starts a lab: a temp tree, one mariadbd per node (initialised and started in parallel,
 * accounts created locally with sql_log_bin=0), replication in the requested shape,
 * semi-sync if asked, and a nats-server with JetStream (or a cluster of `natsNodes`). On
 * failure everything started so far is torn down before the error is rethrown.
 */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  if (labBackendFromEnv() === LabBackend.Containers) {
    // Loaded only when asked for: the native lab never touches testcontainers.
    const { startContainerLab } = await import("./containers/lab.js");
    return startContainerLab(opts);
  }
  const shape = opts.shape ?? LabShape.PrimaryReplicas;
  const plan = planTopology(shape, opts.nodes);
  const semiSync = opts.semiSync ?? false;
  const keep = opts.keep ?? process.env.MARINA_LAB_KEEP === "1";
  const natsNodes = opts.natsNodes ?? 1;
  if (!Number.isInteger(natsNodes) || natsNodes < 1) {
    throw new LabError(LabErrorCode.BadOptions, `natsNodes must be a positive integer`);
  }
  const tcpRetries2 =
    opts.natsTcpRetries2 ?? (opts.hosts && natsNodes > 1 && (opts.nats ?? true) ? 3 : undefined);
  if (tcpRetries2 !== undefined && !(Number.isInteger(tcpRetries2) && tcpRetries2 >= 1)) {
    throw new LabError(LabErrorCode.BadOptions, "natsTcpRetries2 must be a positive integer");
  }
  if (tcpRetries2 !== undefined && !opts.hosts) {
    throw new LabError(LabErrorCode.BadOptions, "natsTcpRetries2 needs hosts: true");
  }
  const credentials = resolveCredentials(opts.credentials);
  const dir = await makeLabDir(opts.parentDir);
  if (!keep) guardDir(dir);

  // Hosts mode: every nats-server on a host of its own too (nats1…natsN), so a NATS node
  // can be partitioned like a database server.
  const natsHostNames =
    (opts.nats ?? true) ? Array.from({ length: natsNodes }, (_, i) => `nats${i + 1}`) : [];
  const extraHosts = opts.extraHosts ?? [];
  if (extraHosts.length > 0 && !opts.hosts) {
    throw new LabError(LabErrorCode.BadOptions, "extraHosts needs hosts: true");
  }
  const hostNames = [...plan.map((p) => p.name), ...natsHostNames, ...extraHosts];
  if (new Set(hostNames).size !== hostNames.length) {
    throw new LabError(LabErrorCode.BadOptions, `host names repeat: ${hostNames.join(", ")}`);
  }
  const network = opts.hosts ? await createHostsNetwork(hostNames) : undefined;
  // Until the lab exists, its close() cannot clean up: a failure here removes the network
  // and the tree itself.
  let lab: LabImpl;
  let natsHosts: LabHost[] | undefined;
  try {
    natsHosts = network ? natsHostNames.map((n) => network.host(n)) : undefined;
    const ports = network ? [] : await freePorts(plan.length);
    const tls = opts.tls
      ? await makeLabTls(
          join(dir, "tls"),
          network
            ? [...plan.map((p) => p.name), ...natsHostNames].map((n) => network.host(n).address)
            : [],
        )
      : undefined;
    const nodes = plan.map((p, i) =>
      makeNode(opts, {
        ...plannedNodeSpec(opts, p, { labDir: dir, credentials, semiSync }),
        ...(network ? hostPlacement(network.host(p.name)) : { port: ports[i] as number }),
        ...(tls ? { tls } : {}),
      }),
    );
    const { natsUsers, auth } = labNatsAuth(opts);
    // The nats-servers' options: users and permissions, and TLS.
    const natsSpec = { ...auth, ...(tls ? { tls } : {}) };
    const natsCluster =
      (opts.nats ?? true) && natsNodes > 1
        ? await createNatsCluster({
            dir: join(dir, "nats"),
            nodes: natsHosts ? natsHosts.map(natsPlacement) : natsNodes,
            ...natsSpec,
          })
        : undefined;
    const nats =
      natsCluster?.nodes[0] ??
      ((opts.nats ?? true)
        ? natsHosts?.[0]
          ? standaloneNatsOn(natsHosts[0], join(dir, "nats"), natsSpec)
          : new NatsServer({ dir: join(dir, "nats"), port: await freePort(), ...natsSpec })
        : undefined);
    lab = new LabImpl({
      dir,
      shape,
      semiSync,
      plan,
      nodes,
      nats,
      natsCluster,
      credentials,
      natsUsers,
      tls,
      network,
      keep,
      opts,
    });
  } catch (err) {
    await network?.close().catch(() => {});
    if (!keep) {
      await removeTree(dir);
      releaseDir(dir);
    }
    throw err;
  }

  try {
    if (natsHosts && tcpRetries2 !== undefined) {
      await Promise.all(natsHosts.map((h) => setTcpRetries2(h, tcpRetries2)));
    }
  } catch (err) {
    await lab.close().catch(() => {});
    throw err;
  }
  return bringUpLab(lab, plan);
}

/**
 * Starts a made lab's servers (initialised, started, accounts created, in parallel, with
 * its NATS), makes the primaries writable, wires replication and semi-sync, writes
 * lab.json. On failure the lab is closed before the error is rethrown.
 */
export async function bringUpLab(lab: LabImpl, plan: readonly NodePlan[]): Promise<Lab> {
  try {
    // allSettled: on a failure, nothing may still be starting when close() runs.
    const started = await Promise.allSettled([
      ...lab.nodes.map(async (n) => {
        await n.init();
        await n.start();
        await n.createAccounts();
      }),
      lab.natsCluster ? lab.natsCluster.start() : lab.nats?.start(),
    ]);
    const failure = started.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    await Promise.all(
      plan
        .filter((p) => p.role === "primary")
        .map((p) => lab.node(p.name).query("SET GLOBAL read_only=0")),
    );
    await wireReplication(lab, plan);
    await writeFile(join(lab.dir, "lab.json"), `${JSON.stringify(lab.info(), null, 2)}\n`);
    return lab;
  } catch (err) {
    await lab.close().catch(() => {});
    throw err;
  }
}

/** Every host's mariadbd listens on the same port, as on real machines. */
const HOST_PORT = 3306;

function hostPlacement(host: LabHost): { port: number; host: string; netns: string } {
  return { port: HOST_PORT, host: host.address, netns: host.ns };
}

/** Every nats-server of a host listens on the usual ports, as on real machines. */
const NATS_HOST_PORT = 4222;
const NATS_HOST_ROUTE_PORT = 6222;
const NATS_HOST_MONITOR_PORT = 8222;

/** A cluster node on `host`. */
function natsPlacement(host: LabHost): NatsNodeSpec {
  return {
    host: host.address,
    port: NATS_HOST_PORT,
    routePort: NATS_HOST_ROUTE_PORT,
    monitorPort: NATS_HOST_MONITOR_PORT,
    wrap: (argv) => host.wrap(argv),
  };
}

/** The only nats-server, on `host` (named after it). */
function standaloneNatsOn(
  host: LabHost,
  dir: string,
  auth: Pick<NatsServerSpec, "authorization" | "probeUser" | "tls">,
): NatsServer {
  return new NatsServer({
    ...auth,
    dir,
    name: host.name,
    host: host.address,
    port: NATS_HOST_PORT,
    monitorPort: NATS_HOST_MONITOR_PORT,
    wrap: (argv) => host.wrap(argv),
  });
}

/** `net.ipv4.tcp_retries2` in a host's namespace (a per-namespace setting). */
async function setTcpRetries2(host: LabHost, value: number): Promise<void> {
  const argv = [resolveBinary("sysctl"), "-qw", `net.ipv4.tcp_retries2=${value}`];
  await runCommand(host.wrap(argv));
}

/** A lab network with one host per name; closed again if any step fails. */
async function createHostsNetwork(names: readonly string[]): Promise<LabNetwork> {
  const network = await createNetwork();
  try {
    for (const name of names) await network.addHost(name);
    return network;
  } catch (err) {
    await network.close().catch(() => {});
    throw err;
  }
}

/** A planned node's spec but for where it runs (port, host, TLS): every backend's. */
export function plannedNodeSpec(
  opts: LabOptions,
  p: NodePlan,
  lab: { labDir: string; credentials: LabCredentials; semiSync: boolean },
): Omit<MariaNodeSpec, "port"> {
  return {
    name: p.name,
    labDir: lab.labDir,
    serverId: p.serverId,
    domainId: p.domainId,
    readOnly: (opts.readOnlyInConfig ?? true) || p.role !== "primary",
    semiSyncSlave: lab.semiSync && p.role !== "primary",
    credentials: lab.credentials,
    extraConfig: { ...opts.mysqld, ...opts.nodeConfig?.[p.name] },
    ...nodeTimeouts(opts),
  };
}

/** The lab's NATS users (LabOptions.natsAuth) and the nats-server options that enforce them. */
export function labNatsAuth(opts: LabOptions): {
  natsUsers: LabNatsUsers | undefined;
  auth: Pick<NatsServerSpec, "authorization" | "probeUser">;
} {
  const authMode = opts.natsAuth ?? "lab";
  const natsUsers = (opts.nats ?? true) && authMode !== "off" ? makeLabNatsUsers() : undefined;
  const auth = natsUsers
    ? {
        authorization: labAuthorization(natsUsers, authMode === "strict" ? "strict" : "lab"),
        probeUser: natsUsers.lab,
      }
    : {};
  return { natsUsers, auth };
}

function nodeTimeouts(
  opts: LabOptions,
): Pick<MariaNodeSpec, "semiSyncMasterTimeoutMs" | "startTimeoutMs" | "queryTimeoutMs"> {
  return {
    ...(opts.semiSyncMasterTimeoutMs !== undefined
      ? { semiSyncMasterTimeoutMs: opts.semiSyncMasterTimeoutMs }
      : {}),
    ...(opts.startTimeoutMs !== undefined ? { startTimeoutMs: opts.startTimeoutMs } : {}),
    ...(opts.queryTimeoutMs !== undefined ? { queryTimeoutMs: opts.queryTimeoutMs } : {}),
  };
}

function makeNode(opts: LabOptions, spec: MariaNodeSpec): MariaNode {
  return new MariaNode({ ...spec, ...nodeTimeouts(opts) });
}

async function wireReplication(lab: Lab, plan: readonly NodePlan[]): Promise<void> {
  await Promise.all(
    plan.map(async (p) => {
      if (p.sources.length === 0) return;
      const replica = lab.node(p.name);
      for (const s of p.sources) {
        await changeMaster(replica, lab.node(s.from), {
          ...(s.connectionName ? { connectionName: s.connectionName } : {}),
        });
      }
      await waitForReplicating(replica, { count: p.sources.length });
    }),
  );
  if (!lab.semiSync) return;
  // Master side only on the top primaries (a relay with it would stall its SQL thread),
  // and only now that their replicas are connected.
  await Promise.all(
    plan
      .filter((p) => p.role === "primary")
      .map((p) => {
        const clients = plan.filter((r) => r.sources.some((s) => s.from === p.name)).length;
        return clients > 0 ? enableSemiSyncMaster(lab.node(p.name), clients) : undefined;
      }),
  );
}
