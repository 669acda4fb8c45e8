// The self-fence's I/O: the last topology from the events stream, and a TCP reachability
// check of a peer's MariaDB port from this host.
import { connect } from "node:net";
import {
  type ClusterTopology,
  parseOnSubject,
  STREAMS,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Peer } from "./rule.js";

/** The cluster's last topology stored in the events stream (a direct read); null: none. */
export function topologyReader(nc: NatsConnection, timeoutMs: number) {
  return async (cluster: string): Promise<ClusterTopology | null> => {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    const subject = subjects.topology(cluster);
    const m = await jsm.streams.getMessage(STREAMS.events.name, { last_by_subj: subject });
    if (m === null) return null;
    const r = parseOnSubject(TopologyMessage, subject, m.data);
    return r.ok ? r.value.payload : null;
  };
}

/** Whether a TCP connection to the peer opens within `timeoutMs` (closed at once). */
export function tcpReachable(peer: Peer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: peer.host, port: peer.port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}
