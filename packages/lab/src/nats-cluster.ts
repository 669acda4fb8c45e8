// A NATS cluster with JetStream for the lab: N nats-servers, each with its own config file,
// store and log under `<dir>/<node>`, routed to each other. Every node can be killed,
// stopped, frozen and started again on the same ports and store, and can run on another
// host of a lab network (`host` and `wrap` per node).
import { join } from "node:path";
import { LabError, LabErrorCode } from "./errors.js";
import { freePortFor, NatsServer, type NatsServerSpec } from "./nats-server.js";

export interface NatsNodeSpec {
  /** The address the node listens on (clients and routes). Default 127.0.0.1. */
  readonly host?: string;
  /** Wraps its argv (e.g. LabHost.wrap, to run it in a network namespace). */
  readonly wrap?: (argv: string[]) => string[];
  /** Client port. Default: a free one (on a host of its own, 4222 will do). */
  readonly port?: number;
  /** Route port. Default: a free one. */
  readonly routePort?: number;
  /** HTTP monitoring port (`/connz`, `/routez`); default none. */
  readonly monitorPort?: number;
}

export interface NatsClusterSpec {
  /** Parent directory of the nodes' directories; under the lab tree. */
  readonly dir: string;
  /** How many nodes (named nats1, nats2, …), or one spec per node. */
  readonly nodes: number | readonly NatsNodeSpec[];
  /** The cluster's name. Default `marina-lab`. */
  readonly name?: string;
  /** Per node start; a cluster needs a quorum before JetStream answers. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Every node's users and permissions (NatsServerSpec). */
  readonly authorization?: NatsServerSpec["authorization"];
  readonly probeUser?: NatsServerSpec["probeUser"];
  readonly tls?: NatsServerSpec["tls"];
}

export class NatsCluster {
  readonly name: string;
  readonly nodes: readonly NatsServer[];

  constructor(name: string, nodes: readonly NatsServer[]) {
    this.name = name;
    this.nodes = nodes;
  }

  /** Every node's client URL (running or not), in node order. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** A node by its server_name (`nats1`, …). */
  node(name: string): NatsServer {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new LabError(LabErrorCode.BadOptions, `no NATS node named ${name}`);
    return n;
  }

  /** The node whose client port is `port` (e.g. from a client's `nc.info.port`). */
  nodeByPort(port: number): NatsServer | undefined {
    return this.nodes.find((n) => n.port === port);
  }

  /**
   * Starts every node that is not running, all at once (a meta leader needs a quorum), and
   * waits until JetStream answers through each of them.
   */
  async start(): Promise<void> {
    const started = await Promise.allSettled(this.nodes.map((n) => n.start()));
    const failure = started.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Resolves once JetStream answers through every running node. */
  async waitForJetStream(timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      this.nodes.filter((n) => n.isRunning()).map((n) => n.waitForJetStream(timeoutMs)),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

/** Allocates ports and writes nothing yet: `start()` brings the nodes up. */
export async function createNatsCluster(spec: NatsClusterSpec): Promise<NatsCluster> {
  const specs: readonly NatsNodeSpec[] =
    typeof spec.nodes === "number" ? Array.from({ length: spec.nodes }, () => ({})) : spec.nodes;
  if (specs.length < 1) {
    throw new LabError(LabErrorCode.BadOptions, "a NATS cluster needs at least one node");
  }
  const name = spec.name ?? "marina-lab";
  const planned: Array<NatsNodeSpec & { host: string; port: number; routePort: number }> = [];
  for (const s of specs) {
    const host = s.host ?? "127.0.0.1";
    planned.push({
      ...s,
      host,
      port: s.port ?? (await freePortFor(host)),
      routePort: s.routePort ?? (await freePortFor(host)),
    });
  }
  const routes = planned.map((p) => `nats-route://${p.host}:${p.routePort}`);
  const nodes = planned.map(
    (p, i) =>
      new NatsServer({
        dir: join(spec.dir, `nats${i + 1}`),
        name: `nats${i + 1}`,
        host: p.host,
        port: p.port,
        cluster: { name, port: p.routePort, routes },
        ...(p.wrap ? { wrap: p.wrap } : {}),
        ...(p.monitorPort !== undefined ? { monitorPort: p.monitorPort } : {}),
        ...(spec.startTimeoutMs !== undefined ? { startTimeoutMs: spec.startTimeoutMs } : {}),
        ...(spec.authorization !== undefined ? { authorization: spec.authorization } : {}),
        ...(spec.probeUser !== undefined ? { probeUser: spec.probeUser } : {}),
        ...(spec.tls !== undefined ? { tls: spec.tls } : {}),
      }),
  );
  return new NatsCluster(name, nodes);
}

/** Starts a NATS cluster and waits until JetStream answers through every node. */
export async function startNatsCluster(spec: NatsClusterSpec): Promise<NatsCluster> {
  const cluster = await createNatsCluster(spec);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.close().catch(() => {});
    throw err;
  }
  return cluster;
}
