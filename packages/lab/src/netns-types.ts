// The public shape of a lab network (implementation in netns.ts).
import type { PartitionAt, Root } from "./partition.js";

/** One host of a lab network: its own network namespace with `lo` and `eth0` on the bridge. */
export interface LabHost {
  readonly name: string;
  /** The namespace (`mlab-<N>-<name>`). */
  readonly ns: string;
  /** Its address on the lab network (10.231.N.x). */
  readonly address: string;
  /** argv that runs `argv` inside this host (`ip netns exec <ns> …`; the pid is argv's). */
  wrap(argv: readonly string[]): string[];
}

/** A partition endpoint: a host, a host's name, or ROOT (the test process and its services). */
export type Peer = LabHost | string | Root;
/** One endpoint or a group of them. */
export type Side = Peer | readonly Peer[];

/** An active cut; `heal()` removes exactly its rules. */
export interface Partition {
  readonly id: number;
  /** e.g. "cut db1 | db2,db3". */
  readonly description: string;
  readonly active: boolean;
  heal(): Promise<void>;
}

export interface NetworkOptions {
  /** Where partition rules live; default `switch` when the bridge passes frames to iptables. */
  readonly partitionAt?: PartitionAt;
  /** Sweep networks of dead processes first. Default true. */
  readonly sweep?: boolean;
}

export interface LabNetwork {
  /** N of 10.231.N.0/24, unique among live lab networks on this machine. */
  readonly index: number;
  readonly subnet: string;
  /** The root namespace's address on the lab network (10.231.N.1). */
  readonly rootAddress: string;
  readonly switchNs: string;
  /** The root namespace's veth to the bridge (`mlab<N>r`). */
  readonly rootLink: string;
  readonly partitionAt: PartitionAt;
  readonly hosts: readonly LabHost[];
  /** Cuts not healed yet. */
  readonly partitions: readonly Partition[];
  readonly closed: boolean;
  host(name: string): LabHost;
  /** A new host (namespace, `lo` up, `eth0` on the bridge, the next address). */
  addHost(name: string): Promise<LabHost>;
  /** Drops everything to and from `peer` over the network; its loopback keeps working. */
  isolate(peer: Peer): Promise<Partition>;
  /** Drops packets between every endpoint of `a` and every endpoint of `b`, both ways. */
  cut(a: Side, b: Side): Promise<Partition>;
  /** Drops packets from `from` to `to` only. */
  cutOneWay(from: Side, to: Side): Promise<Partition>;
  /** Heals every partition. */
  heal(): Promise<void>;
  /** Removes every namespace, link, rule and the reservation. Idempotent. */
  close(): Promise<void>;
}
