// The decider's stream and buckets on a real 3-node NATS cluster: R1 ones made by an older
// Marina are scaled to 3 under "auto" (nats-server 2.9 scales a stream in place, a KV
// bucket being stream KV_<bucket>); "auto" never scales down, a configured count does.
import { LEASE_BUCKET, STREAMS } from "@marina/contracts";
import { makeLabDir, type NatsCluster, removeTree, startNatsCluster } from "@marina/lab";
import { untilJetStreamReady } from "@marina/runtime";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBucket } from "../src/jetstream-setup.js";
import { type EventsStreamOptions, ensureEventsStream } from "../src/streams.js";

describe("replicas of the decider's stream and buckets", () => {
  let dir: string;
  let cluster: NatsCluster;
  let nc: NatsConnection;
  const log = pino({ level: "silent" });
  const events = STREAMS.events.name;
  const leaseStream = `KV_${LEASE_BUCKET}`;

  const replicasOf = async (stream: string) =>
    (await (await jetstreamManager(nc)).streams.info(stream)).config.num_replicas;
  // As the decider's start does: a stream just scaled may leave a request unanswered.
  const ensureEvents = (o: EventsStreamOptions) =>
    untilJetStreamReady(
      "events",
      async () => ensureEventsStream(await jetstreamManager(nc), o),
      log,
    );
  const lease = (replicas: "auto" | number) =>
    untilJetStreamReady(
      "lease",
      () => ensureBucket(nc, LEASE_BUCKET, { ttl: 3000, history: 1 }, replicas, log),
      log,
    );

  beforeAll(async () => {
    dir = await makeLabDir();
    cluster = await startNatsCluster({ dir, nodes: 3 });
    nc = await connect({ servers: cluster.urls });
  });
  afterAll(async () => {
    await nc?.close();
    await cluster?.close();
    await removeTree(dir);
  });

  it("scales R1 up under auto, keeps R3 when a server is missing, follows a configured count", async () => {
    // What an older Marina left: R1.
    await (await jetstreamManager(nc)).streams.add({
      name: events,
      subjects: [...STREAMS.events.subjects],
      num_replicas: 1,
    });
    await new Kvm(jetstream(nc)).create(LEASE_BUCKET, { ttl: 3000, history: 1, replicas: 1 });

    await ensureEvents({ replicas: "auto", info: nc.info, log });
    const kv = await lease("auto");
    expect(await replicasOf(events)).toBe(3);
    expect(await replicasOf(leaseStream)).toBe(3);
    expect((await kv.status()).ttl).toBe(3000);

    // A service started while a server is down sees 2 servers: auto keeps the 3.
    const twoServers = { cluster: "marina-lab", connect_urls: cluster.urls.slice(0, 2) };
    await ensureEvents({ replicas: "auto", info: twoServers });
    expect(await replicasOf(events)).toBe(3);

    // A configured count is applied both ways.
    await ensureEvents({ replicas: 1, info: nc.info });
    await lease(1);
    expect(await replicasOf(events)).toBe(1);
    expect(await replicasOf(leaseStream)).toBe(1);

    // More than the cluster has: the bucket is kept as it is (a warning), not an error.
    await lease(5);
    expect(await replicasOf(leaseStream)).toBe(1);
  });
});
