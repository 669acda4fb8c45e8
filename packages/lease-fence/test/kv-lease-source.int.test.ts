// The KV lease source on a real nats-server: the watch follows puts and deletes, a key's
// TTL expiry (no watch event on NATS 2.9) is judged from the value, and an unreadable KV is
// a retryable refusal of the fence.
import { makeLabDir, type NatsServer, removeTree, startNats, waitFor } from "@marina/lab";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseFence } from "../src/fence.js";
import { kvLeaseSource } from "../src/kv-lease-source.js";
import { LEASE_BUCKET } from "../src/lease-record.js";
import type { LeaseSource } from "../src/lease-source.js";
import { deleteLease, writeLease } from "../src/write-lease.js";

const TTL_MS = 1500;
const silent = { warn() {} };

describe("kvLeaseSource on a real nats-server", () => {
  let dir: string;
  let nats: NatsServer;
  let nc: NatsConnection;
  let source: LeaseSource;
  let fence: LeaseFence;

  beforeAll(async () => {
    dir = await makeLabDir();
    nats = await startNats({ dir });
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    source = kvLeaseSource(nc, { log: silent, rewatchMs: 100, timeoutMs: 500 });
    fence = new LeaseFence(source, () => Date.now());
    fence.start();
  });
  afterAll(async () => {
    await fence?.close();
    await nc?.close();
    await nats?.stop();
    await removeTree(dir);
  });

  it("without a bucket there is no lease: refused, retryably", async () => {
    expect(await source.read("main")).toBeNull();
    expect(source.cached("main")).toBeUndefined();
    const v = await fence.admit("main", 1);
    expect(v).toMatchObject({ ok: false, error: { code: "LEASE_UNAVAILABLE", retryable: true } });
  });

  it("follows the lease once a decider made the bucket, and admits only its epoch", async () => {
    // As the deciders create it: the bucket's TTL is the lease TTL.
    await new Kvm(jetstream(nc)).create(LEASE_BUCKET, { ttl: TTL_MS, history: 1 });
    await writeLease(nc, "main", 3, "decider-a");
    await waitFor(() => source.cached("main")?.epoch === 3, {
      timeoutMs: 10_000,
      message: "the watch showing epoch 3",
    });
    const view = source.cached("main")!;
    expect(view.expiresAt).toBeGreaterThan(Date.now());
    expect(view.expiresAt).toBeLessThanOrEqual(Date.now() + TTL_MS);
    expect(await fence.admit("main", 3)).toEqual({ ok: true });
    expect(await fence.admit("main", 2)).toMatchObject({ error: { code: "STALE_EPOCH" } });
    expect(await fence.admit("main", 2 ** 53 - 1)).toMatchObject({
      error: { code: "FUTURE_EPOCH" },
    });
    // A new leader: admitted at once (KV read again), before or after the watch shows it.
    await writeLease(nc, "main", 4, "decider-b");
    expect(await fence.admit("main", 4)).toEqual({ ok: true });
    await waitFor(() => source.cached("main")?.epoch === 4, {
      timeoutMs: 10_000,
      message: "the watch showing epoch 4",
    });
    expect(await fence.admit("main", 3)).toMatchObject({ error: { code: "STALE_EPOCH" } });
  });

  it("judges a lease past its TTL expired although the watch got no event", async () => {
    await writeLease(nc, "main", 5, "decider-b");
    await waitFor(() => source.cached("main")?.epoch === 5, {
      timeoutMs: 10_000,
      message: "the watch showing epoch 5",
    });
    expect(await fence.admit("main", 5)).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, TTL_MS + 1000));
    // The key expired in KV; the watch still holds the last value (no event)...
    expect(source.cached("main")?.epoch).toBe(5);
    // ...but a lease past renewedAt + TTL is no lease.
    expect(await fence.admit("main", 5)).toMatchObject({
      ok: false,
      error: { code: "LEASE_UNAVAILABLE", retryable: true },
    });
  });

  it("sees a released lease (delete) as no lease", async () => {
    await writeLease(nc, "main", 6, "decider-c");
    await waitFor(() => source.cached("main")?.epoch === 6, {
      timeoutMs: 10_000,
      message: "the watch showing epoch 6",
    });
    await deleteLease(nc, "main");
    await waitFor(() => source.cached("main") === null, {
      timeoutMs: 10_000,
      message: "the watch showing the delete",
    });
    expect(await fence.admit("main", 6)).toMatchObject({
      error: { code: "LEASE_UNAVAILABLE" },
    });
  });

  it("refuses retryably while KV cannot be read, and watches again after a restart", async () => {
    await writeLease(nc, "main", 7, "decider-d");
    await waitFor(() => source.cached("main")?.epoch === 7, {
      timeoutMs: 10_000,
      message: "the watch showing epoch 7",
    });
    await nats.stop();
    // Above the watched lease: KV must be read, and cannot be.
    const v = await fence.admit("main", 8);
    expect(v).toMatchObject({ ok: false, error: { code: "LEASE_UNAVAILABLE", retryable: true } });
    await nats.start();
    await waitFor(
      async () => {
        await writeLease(nc, "main", 8, "decider-e").catch(() => {});
        return source.cached("main")?.epoch === 8;
      },
      { timeoutMs: 20_000, message: "the watch showing epoch 8 after the restart" },
    );
    expect(await fence.admit("main", 8)).toEqual({ ok: true });
  });
});
