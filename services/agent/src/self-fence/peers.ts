// The self-fence's I/O: the last topology from the events stream, a TCP reachability check
// of a peer's MariaDB port from this host, and whether a NATS majority answers.
import { connect } from "node:net";
import {
  type ClusterTopology,
  parseOnSubject,
  STREAMS,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import { LEASE_BUCKET, settledForReads } from "@marina/lease-fence";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Peer } from "./rule.js";

const manager = (nc: NatsConnection, timeoutMs: number): Promise<JetStreamManager> =>
  jetstreamManager(nc, { timeout: timeoutMs, checkAPI: false });

/**
 * The cluster's last topology stored in the events stream; null when there is none (or no
 * stream yet). Stream info first: a message get that reaches a stream being created
 * crashes nats-server 2.9.10 (@marina/lease-fence's young-stream.ts).
 */
export function topologyReader(nc: NatsConnection, timeoutMs: number) {
  return async (cluster: string): Promise<ClusterTopology | null> => {
    const jsm = await manager(nc, timeoutMs);
    const info = await jsm.streams.info(STREAMS.events.name).catch((err: unknown) => {
      if (/stream not found/i.test((err as Error).message)) return null;
      throw err;
    });
    if (info === null) return null;
    await settledForReads(info.state.last_seq);
    const subject = subjects.topology(cluster);
    const m = await jsm.streams.getMessage(STREAMS.events.name, { last_by_subj: subject });
    if (m === null) return null;
    const r = parseOnSubject(TopologyMessage, subject, m.data);
    return r.ok ? r.value.payload : null;
  };
}

/**
 * Whether the lease bucket's stream leader answers a stream info within `timeoutMs`: in a
 * JetStream cluster only a stream with a leader — elected by a majority of its replicas —
 * does, so an answer shows this host still reaches a NATS majority.
 */
export function natsMajority(nc: NatsConnection) {
  return async (timeoutMs: number): Promise<boolean> => {
    try {
      const jsm = await manager(nc, timeoutMs);
      await jsm.streams.info(`KV_${LEASE_BUCKET}`);
      return true;
    } catch {
      return false;
    }
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
