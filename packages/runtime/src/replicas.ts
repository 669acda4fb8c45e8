// How many replicas Marina's JetStream streams and KV buckets get (config `nats.replicas`):
// one rule for every service that creates one.
//
// "auto" needs the NATS cluster's size, and a client learns it from the INFO its server
// sends (nats.js keeps the latest as `nc.info`, updated as servers come and go):
// `cluster` is set only when the server is part of a cluster, and `connect_urls` lists the
// client address of every server routed to it, itself included (nats-server 2.9.10: one
// entry per server that listens on one address; a server that listens on 0.0.0.0
// advertises every address of its host, and `no_advertise` empties the list). The account
// info of the JetStream API says nothing about the cluster, and a stream's info names only
// that stream's peers, so the INFO is what is used.
import type { NatsReplicas } from "@marina/contracts";
import type { ServerInfo } from "@nats-io/transport-node";

export type ClusterInfo = Pick<ServerInfo, "cluster" | "connect_urls">;

/** Servers of the NATS cluster as the connected server reports it (1 when not clustered). */
export function natsClusterSize(info: ClusterInfo | undefined): number {
  if (!info?.cluster) return 1;
  return Math.max(1, new Set(info.connect_urls ?? []).size);
}

/** The replica count for Marina's streams and buckets: the configured one, or auto's. */
export function natsReplicas(setting: NatsReplicas, info: ClusterInfo | undefined): number {
  if (setting !== "auto") return setting;
  return natsClusterSize(info) >= 3 ? 3 : 1;
}

/**
 * What to set on a stream or bucket that exists with `have` replicas when `want` is
 * asked: undefined keeps it. A configured number is applied either way; "auto" only
 * raises, so a service started while a server is down (the INFO lists one fewer) never
 * shrinks what the full cluster has.
 */
export function replicasChange(
  setting: NatsReplicas,
  want: number,
  have: number,
): number | undefined {
  if (have === want) return undefined;
  if (setting === "auto" && have > want) return undefined;
  return want;
}
