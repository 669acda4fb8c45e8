import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CredentialOverrides,
  type LabCredentials,
  resolveCredentials,
} from "./credentials.js";
import { LabError, LabErrorCode } from "./errors.js";
import { guardDir, releaseDir } from "./exit-guard.js";
import { MariaNode, type MariaNodeSpec } from "./mariadb-node.js";
import type { CnfValue } from "./mycnf.js";
import { NatsServer } from "./nats-server.js";
import { freePort, freePorts } from "./ports.js";
import { changeMaster, enableSemiSyncMaster, waitForReplicating } from "./replication.js";
import { makeLabDir, removeTree } from "./temp-tree.js";
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
}

/** What a lab is, as plain data (printed by the CLI, written to <dir>/lab.json). */
export interface LabInfo {
  readonly dir: string;
  readonly shape: LabShape;
  readonly semiSync: boolean;
  readonly nodes: readonly NodeInfo[];
  readonly nats: { readonly url: string; readonly pid: number | undefined } | undefined;
  readonly credentials: LabCredentials;
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
  readonly nats: NatsServer | undefined;
  readonly credentials: LabCredentials;
  node(name: string): MariaNode;
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

class LabImpl implements Lab {
  readonly dir: string;
  readonly shape: LabShape;
  readonly semiSync: boolean;
  readonly plan: NodePlan[];
  readonly nodes: MariaNode[];
  readonly nats: NatsServer | undefined;
  readonly credentials: LabCredentials;
  readonly #keep: boolean;
  readonly #opts: LabOptions;
  #lastServerId: number;
  #closing: Promise<void> | undefined;

  constructor(args: {
    dir: string;
    shape: LabShape;
    semiSync: boolean;
    plan: NodePlan[];
    nodes: MariaNode[];
    nats: NatsServer | undefined;
    credentials: LabCredentials;
    keep: boolean;
    opts: LabOptions;
  }) {
    this.dir = args.dir;
    this.shape = args.shape;
    this.semiSync = args.semiSync;
    this.plan = args.plan;
    this.nodes = args.nodes;
    this.nats = args.nats;
    this.credentials = args.credentials;
    this.#keep = args.keep;
    this.#opts = args.opts;
    this.#lastServerId = Math.max(0, ...args.nodes.map((n) => n.serverId));
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

  async addNode(o: AddNodeOptions = {}): Promise<MariaNode> {
    if (this.closed) throw new LabError(LabErrorCode.Closed, "the lab is closed");
    // Reserved synchronously: concurrent addNode() calls get distinct ids.
    const serverId = ++this.#lastServerId;
    const name = `db${serverId}`;
    const node = makeNode(this.#opts, {
      name,
      labDir: this.dir,
      port: await freePort(),
      serverId,
      domainId: o.domainId ?? 0,
      readOnly: o.readOnly ?? true,
      semiSyncSlave: o.semiSyncSlave ?? this.semiSync,
      credentials: this.credentials,
      extraConfig: { ...this.#opts.mysqld, ...o.config },
    });
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
      })),
      nats: this.nats ? { url: this.nats.url, pid: this.nats.pid } : undefined,
      credentials: this.credentials,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.nodes.map((n) => n.close()), this.nats?.close()]);
    if (!this.#keep) {
      await removeTree(this.dir);
      releaseDir(this.dir);
    }
  }
}

/**
 * Starts a lab: a temp tree, one mariadbd per node (initialised and started in parallel,
 * accounts created locally with sql_log_bin=0), replication in the requested shape,
 * semi-sync if asked, and a nats-server with JetStream. On failure everything started so
 * far is torn down before the error is rethrown.
 */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const shape = opts.shape ?? LabShape.PrimaryReplicas;
  const plan = planTopology(shape, opts.nodes);
  const semiSync = opts.semiSync ?? false;
  const keep = opts.keep ?? process.env.MARINA_LAB_KEEP === "1";
  const credentials = resolveCredentials(opts.credentials);
  const dir = await makeLabDir(opts.parentDir);
  if (!keep) guardDir(dir);

  const ports = await freePorts(plan.length);
  const nodes = plan.map((p, i) =>
    makeNode(opts, {
      name: p.name,
      labDir: dir,
      port: ports[i] as number,
      serverId: p.serverId,
      domainId: p.domainId,
      readOnly: (opts.readOnlyInConfig ?? true) || p.role !== "primary",
      semiSyncSlave: semiSync && p.role !== "primary",
      credentials,
      extraConfig: { ...opts.mysqld, ...opts.nodeConfig?.[p.name] },
    }),
  );
  const nats =
    (opts.nats ?? true)
      ? new NatsServer({ dir: join(dir, "nats"), port: await freePort() })
      : undefined;
  const lab = new LabImpl({ dir, shape, semiSync, plan, nodes, nats, credentials, keep, opts });

  try {
    // allSettled: on a failure, nothing may still be starting when close() runs.
    const started = await Promise.allSettled([
      ...nodes.map(async (n) => {
        await n.init();
        await n.start();
        await n.createAccounts();
      }),
      nats?.start(),
    ]);
    const failure = started.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    await Promise.all(
      plan
        .filter((p) => p.role === "primary")
        .map((p) => lab.node(p.name).query("SET GLOBAL read_only=0")),
    );
    await wireReplication(lab, plan);
    await writeFile(join(dir, "lab.json"), `${JSON.stringify(lab.info(), null, 2)}\n`);
    return lab;
  } catch (err) {
    await lab.close().catch(() => {});
    throw err;
  }
}

function makeNode(opts: LabOptions, spec: MariaNodeSpec): MariaNode {
  return new MariaNode({
    ...spec,
    ...(opts.semiSyncMasterTimeoutMs !== undefined
      ? { semiSyncMasterTimeoutMs: opts.semiSyncMasterTimeoutMs }
      : {}),
    ...(opts.startTimeoutMs !== undefined ? { startTimeoutMs: opts.startTimeoutMs } : {}),
    ...(opts.queryTimeoutMs !== undefined ? { queryTimeoutMs: opts.queryTimeoutMs } : {}),
  });
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
