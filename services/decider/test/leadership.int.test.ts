// Leader election and command routing between real deciders over a real nats-server.
import { CommandReplyMessage, LEASE_BUCKET, parseMessage } from "@marina/contracts";
import { makeLabDir, type NatsServer, removeTree, startNats, waitFor } from "@marina/lab";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeciderApp } from "../src/app.js";
import { readLease } from "../src/lease.js";
import { startDecider } from "../src/start.js";
import { config } from "./fixtures.js";

describe("decider leadership", () => {
  let dir: string;
  let nats: NatsServer;
  const conns: NatsConnection[] = [];
  const apps: DeciderApp[] = [];
  const log = pino({ level: "silent" });

  async function decider(id: string) {
    const nc = await connect({ servers: nats.url });
    conns.push(nc);
    const app = await startDecider({ config, id, nc, log, leaseTtlMs: 1500, renewEveryMs: 250 });
    apps.push(app);
    return app;
  }

  const leaderOf = (a: DeciderApp) => a.leases.get("main")!.leader;

  beforeAll(async () => {
    dir = await makeLabDir();
    nats = await startNats({ dir });
  });
  afterAll(async () => {
    for (const a of apps) await a.close(false);
    for (const c of conns) await c.close();
    await nats?.stop();
    await removeTree(dir);
  });

  it("elects exactly one leader, forwards commands to it, and hands over with a higher epoch", async () => {
    const a = await decider("decider-a");
    const b = await decider("decider-b");
    await waitFor(() => leaderOf(a) || leaderOf(b), 10_000);
    // hold for a few renewals: never two leaders
    for (let i = 0; i < 8; i++) {
      expect([leaderOf(a), leaderOf(b)].filter(Boolean)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [leader, follower] = leaderOf(a) ? [a, b] : [b, a];
    const firstEpoch = leader.leases.get("main")!.epoch;
    expect(firstEpoch).toBeGreaterThan(0);

    const client = await connect({ servers: nats.url });
    conns.push(client);
    const lease = await readLease(await new Kvm(client).open(LEASE_BUCKET), "main");
    expect(lease?.epoch).toBe(firstEpoch);

    // whichever decider the queue group picks, the leader answers `status`
    for (let i = 0; i < 4; i++) {
      const r = await client.request("marina.v1.main.cmd.status", "{}", { timeout: 5000 });
      const reply = parseMessage(CommandReplyMessage, r.data);
      expect(reply.ok && reply.value.payload.ok).toBe(true);
    }
    // a bad command is answered by whoever receives it, naming the field
    const bad = await client.request("marina.v1.main.cmd.rejoin", '{"server":"../etc"}', {
      timeout: 5000,
    });
    const badReply = parseMessage(CommandReplyMessage, bad.data);
    expect(badReply.ok && !badReply.value.payload.ok && badReply.value.payload.error.path).toBe(
      "server",
    );

    // the leader dies without releasing: the follower takes over after the TTL
    await leader.close(false);
    await waitFor(() => leaderOf(follower), 10_000);
    expect(follower.leases.get("main")!.epoch).toBeGreaterThan(firstEpoch);
  });
});
