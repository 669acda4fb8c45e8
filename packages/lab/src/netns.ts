// A multi-host lab network: one network namespace per host on a bridge (in a "switch"
// namespace), the root namespace wired to the same bridge, partitions as iptables rules in
// the lab's own namespaces.
import { LabError, LabErrorCode } from "./errors.js";
import { guardCleanup, releaseCleanup } from "./exit-guard.js";
import { applyRules, batch, deleteEach, ip, ipBinary, runCommand } from "./netns-command.js";
import {
  addressOf,
  assertHostName,
  BRIDGE_NAME,
  FIRST_HOST_NUMBER,
  HOST_LINK,
  hostNamespace,
  MAX_HOST_NUMBER,
  netnsExec,
  ROOT_HOST_NUMBER,
  rootLinkName,
  SWITCH_ROOT_PORT,
  subnetOf,
  switchNamespace,
  switchPortName,
} from "./netns-names.js";
import { RESERVATION_DIR, releaseIndexSync, reserveIndex } from "./netns-reservation.js";
import { listObjects, removeNetworkSync, sweepStaleNetworks } from "./netns-sweep.js";
import type { LabHost, LabNetwork, NetworkOptions, Partition, Peer, Side } from "./netns-types.js";
import {
  cutRules,
  type DropRule,
  type Endpoint,
  isolateRules,
  PartitionAt,
  ROOT,
} from "./partition.js";

export type { LabHost, LabNetwork, NetworkOptions, Partition, Peer, Side } from "./netns-types.js";

const BRIDGE_NF_CALL = "/proc/sys/net/bridge/bridge-nf-call-iptables";

class LabHostImpl implements LabHost {
  constructor(
    readonly name: string,
    readonly ns: string,
    readonly address: string,
    readonly hostNumber: number,
  ) {}

  wrap(argv: readonly string[]): string[] {
    return netnsExec(this.ns, argv, ipBinary());
  }
}

class PartitionImpl implements Partition {
  active = true;
  readonly #heal: (p: PartitionImpl) => Promise<void>;

  constructor(
    readonly id: number,
    readonly description: string,
    readonly rules: readonly DropRule[],
    readonly comment: string,
    heal: (p: PartitionImpl) => Promise<void>,
  ) {
    this.#heal = heal;
  }

  heal(): Promise<void> {
    return this.#heal(this);
  }
}

class LabNetworkImpl implements LabNetwork {
  readonly index: number;
  readonly subnet: string;
  readonly rootAddress: string;
  readonly switchNs: string;
  readonly rootLink: string;
  partitionAt: PartitionAt = PartitionAt.Hosts;
  readonly #hosts: LabHostImpl[] = [];
  readonly #partitions: PartitionImpl[] = [];
  /** Namespaces that may exist (registered before creation, so a failure still removes them). */
  readonly #namespaces = new Set<string>();
  readonly #exitCleanup = () => this.#closeSync();
  #nextHost = FIRST_HOST_NUMBER;
  #nextPartition = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(index: number) {
    this.index = index;
    this.subnet = subnetOf(index);
    this.rootAddress = addressOf(index, ROOT_HOST_NUMBER);
    this.switchNs = switchNamespace(index);
    this.rootLink = rootLinkName(index);
    guardCleanup(this.#exitCleanup);
  }

  get hosts(): readonly LabHost[] {
    return [...this.#hosts];
  }

  get partitions(): readonly Partition[] {
    return this.#partitions.filter((p) => p.active);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  host(name: string): LabHost {
    const h = this.#hosts.find((x) => x.name === name);
    if (!h) throw new LabError(LabErrorCode.BadOptions, `no host named ${name} in this network`);
    return h;
  }

  async setup(opts: NetworkOptions): Promise<void> {
    const sw = this.switchNs;
    this.#namespaces.add(sw);
    await ip("netns", "add", sw);
    // The veth is born with its far end in the switch namespace: no name clash in the root.
    await batch(undefined, [
      `link add ${this.rootLink} type veth peer name ${SWITCH_ROOT_PORT} netns ${sw}`,
      `addr add ${this.rootAddress}/24 dev ${this.rootLink}`,
      `link set ${this.rootLink} up`,
    ]);
    await batch(sw, [
      "link set lo up",
      `link add ${BRIDGE_NAME} type bridge`,
      `link set ${BRIDGE_NAME} up`,
      `link set ${SWITCH_ROOT_PORT} master ${BRIDGE_NAME}`,
      `link set ${SWITCH_ROOT_PORT} up`,
    ]);
    this.partitionAt = opts.partitionAt ?? (await this.#bridgeFiltering());
  }

  /** Whether bridged frames in the switch namespace go through its iptables. */
  async #bridgeFiltering(): Promise<PartitionAt> {
    const v = await runCommand(netnsExec(this.switchNs, ["cat", BRIDGE_NF_CALL], ipBinary()))
      .then((out) => out.trim())
      .catch(() => "");
    return v === "1" ? PartitionAt.Switch : PartitionAt.Hosts;
  }

  async addHost(name: string): Promise<LabHost> {
    assertHostName(name);
    this.#assertOpen();
    if (this.#hosts.some((h) => h.name === name)) {
      throw new LabError(LabErrorCode.BadOptions, `host ${name} exists already`);
    }
    const number = this.#nextHost++;
    if (number > MAX_HOST_NUMBER) {
      throw new LabError(LabErrorCode.BadOptions, `no address left for host ${name}`);
    }
    const host = new LabHostImpl(
      name,
      hostNamespace(this.index, name),
      addressOf(this.index, number),
      number,
    );
    this.#hosts.push(host);
    this.#namespaces.add(host.ns); // before it exists: close() removes a half-made one too
    try {
      return await this.#serial(async () => {
        const port = switchPortName(number);
        await ip("netns", "add", host.ns);
        await batch(this.switchNs, [
          `link add ${port} type veth peer name ${HOST_LINK} netns ${host.ns}`,
          `link set ${port} master ${BRIDGE_NAME}`,
          `link set ${port} up`,
        ]);
        await batch(host.ns, [
          "link set lo up",
          `addr add ${host.address}/24 dev ${HOST_LINK}`,
          `link set ${HOST_LINK} up`,
        ]);
        return host;
      });
    } catch (err) {
      this.#hosts.splice(this.#hosts.indexOf(host), 1);
      throw err;
    }
  }

  async isolate(peer: Peer): Promise<Partition> {
    const e = this.#endpoint(peer);
    return this.#partition(`isolate ${e.name}`, isolateRules(this.#place(), e));
  }

  cut(a: Side, b: Side): Promise<Partition> {
    return this.#cut(a, b, false);
  }

  cutOneWay(from: Side, to: Side): Promise<Partition> {
    return this.#cut(from, to, true);
  }

  async #cut(a: Side, b: Side, oneWay: boolean): Promise<Partition> {
    const from = this.#endpoints(a);
    const to = this.#endpoints(b);
    const names = (es: readonly Endpoint[]) => es.map((e) => e.name).join(",");
    const description = `cut ${names(from)} ${oneWay ? "->" : "|"} ${names(to)}`;
    return this.#partition(description, cutRules(this.#place(), from, to, oneWay));
  }

  async heal(): Promise<void> {
    for (const p of this.#partitions.filter((x) => x.active)) await p.heal();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#queue.catch(() => {});
    // The root veth explicitly (namespace teardown is asynchronous in the kernel and a new
    // network may reuse the name at once), then every namespace; rules go with them.
    const failures: string[] = [];
    const found = (await listObjects()).get(this.index);
    if (found?.links.includes(this.rootLink)) {
      await ip("link", "del", this.rootLink).catch((e: unknown) => failures.push(String(e)));
    }
    const existing = new Set(found?.namespaces ?? []);
    await Promise.all(
      [...this.#namespaces]
        .filter((ns) => existing.has(ns))
        .map((ns) => ip("netns", "del", ns).catch((e: unknown) => failures.push(String(e)))),
    );
    for (const p of this.#partitions) p.active = false;
    if (failures.length > 0) {
      // Keep the reservation and the exit hook: nothing may reuse N while this lingers.
      throw new LabError(
        LabErrorCode.NetworkFailed,
        `lab network ${this.index}: ${failures.join("; ")}`,
      );
    }
    releaseIndexSync(this.index, RESERVATION_DIR);
    releaseCleanup(this.#exitCleanup);
  }

  #closeSync(): void {
    removeNetworkSync(this.index, [...this.#namespaces]);
    releaseIndexSync(this.index, RESERVATION_DIR);
  }

  async #partition(description: string, rules: DropRule[]): Promise<Partition> {
    this.#assertOpen();
    const id = this.#nextPartition++;
    const comment = `mlab-${this.index}-p${id}`;
    return this.#serial(async () => {
      try {
        await applyRules(rules, "-A", comment);
      } catch (err) {
        // Some namespaces may have their rules already: take those out again.
        await deleteEach(rules, comment);
        throw err;
      }
      const p = new PartitionImpl(id, description, rules, comment, (x) => this.#healOne(x));
      this.#partitions.push(p);
      return p;
    });
  }

  #healOne(p: PartitionImpl): Promise<void> {
    return this.#serial(async () => {
      if (!p.active || this.closed) return;
      await applyRules(p.rules, "-D", p.comment).catch(() => deleteEach(p.rules, p.comment));
      p.active = false;
    });
  }

  #place() {
    return { at: this.partitionAt, switchNs: this.switchNs };
  }

  #endpoint(peer: Peer): Endpoint {
    if (peer === ROOT) return { name: "root", ns: undefined, address: this.rootAddress };
    const host =
      typeof peer === "string"
        ? this.host(peer)
        : this.#hosts.find((h) => h.ns === peer.ns && h.address === peer.address);
    if (!host) {
      const name = typeof peer === "string" ? peer : peer.name;
      throw new LabError(LabErrorCode.BadOptions, `${name} is not a host of this network`);
    }
    return { name: host.name, ns: host.ns, address: host.address };
  }

  #endpoints(side: Side): Endpoint[] {
    const peers: readonly Peer[] = Array.isArray(side) ? side : [side as Peer];
    const out = new Map<string, Endpoint>();
    for (const p of peers) {
      const e = this.#endpoint(p);
      out.set(e.address, e);
    }
    return [...out.values()];
  }

  /** Network changes run one at a time, in call order. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #assertOpen(): void {
    if (this.closed) throw new LabError(LabErrorCode.Closed, `lab network ${this.index} is closed`);
  }
}

/**
 * Creates a lab network: reserves a free 10.231.N.0/24 (atomically, among all processes),
 * makes the switch namespace with its bridge and wires the root namespace to it
 * (`rootAddress`). Sweeps networks of dead processes first. Close it (also on failure);
 * an exit hook removes it if the owner exits without closing.
 */
export async function createNetwork(opts: NetworkOptions = {}): Promise<LabNetwork> {
  if (opts.sweep ?? true) await sweepStaleNetworks();
  const index = await reserveIndex(await indexesInUse());
  if (index === undefined) {
    throw new LabError(LabErrorCode.NetworkFailed, "no free lab network index (10.231.N.0/24)");
  }
  const net = new LabNetworkImpl(index);
  try {
    await net.setup(opts);
  } catch (err) {
    await net.close().catch(() => {});
    throw err;
  }
  return net;
}

/** Indexes whose subnet the root namespace routes already (someone else's, or leftovers). */
async function indexesInUse(): Promise<Set<number>> {
  const out = new Set((await listObjects()).keys());
  const routes = await ip("-4", "route", "show").catch(() => "");
  for (const m of routes.matchAll(/^10\.231\.(\d{1,3})\.\d{1,3}\//gm)) out.add(Number(m[1]));
  return out;
}
