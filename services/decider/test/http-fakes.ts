// What the HTTP API tests build it over: two deciders on one in-memory bus and KV (the
// first to start leads, the other follows and forwards), and an in-memory PublishedReader.
import {
  ApiSettings,
  type ClusterTopology,
  envelope,
  type OperationRecord,
  subjects,
} from "@marina/contracts";
import { systemClock } from "@marina/runtime";
import { pino } from "pino";
import { buildApp, type DeciderApp } from "../src/app.js";
import { buildHttpApi, type HttpApi } from "../src/http/app.js";
import type { ApiTlsMaterial } from "../src/http/auth.js";
import type { Published, PublishedReader } from "../src/http/deps.js";
import { FakeBus } from "./fake-bus.js";
import { FakeKv } from "./fake-kv.js";
import { config, healthy, sample } from "./fixtures.js";

export const OPS_TOKEN = "ops-token-0123456789";
export const CI_TOKEN = "ci-token-0123456789ab";

export function apiSettings(over: Record<string, unknown> = {}): ApiSettings {
  return ApiSettings.parse({
    port: 0,
    // Generous: a loaded test machine must not turn a health check into a timeout.
    healthTimeoutMs: 5_000,
    tokens: [
      { name: "ops", token: { value: OPS_TOKEN } },
      { name: "ci", token: { env: "CI_API_TOKEN" } },
    ],
    ...over,
  });
}

export async function until(ok: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class FakeReader implements PublishedReader {
  topology: ClusterTopology | null = null;
  published: Published[] = [];
  records: OperationRecord[] = [];
  private readonly followers = new Set<(p: Published) => void>();

  async lastTopology() {
    return this.topology;
  }
  async recent(_c: string, q: { limit: number; kinds: readonly string[] }) {
    return this.published.filter((p) => q.kinds.includes(p.kind)).slice(-q.limit);
  }
  async history(_c: string, q: { limit: number }) {
    return this.records.slice(-q.limit);
  }
  async historyRecord(_c: string, id: string) {
    return this.records.find((r) => r.id === id) ?? null;
  }
  async follow(_c: string, deliver: (p: Published) => void, signal: AbortSignal) {
    this.followers.add(deliver);
    signal.addEventListener("abort", () => this.followers.delete(deliver));
  }
  /** A message the leader published (to every follower of the stream). */
  publish(p: Published): void {
    this.published.push(p);
    for (const f of this.followers) f(p);
  }
  get following(): number {
    return this.followers.size;
  }
}

export interface TwoDeciders {
  bus: FakeBus;
  leader: DeciderApp;
  follower: DeciderApp;
  reader: FakeReader;
  /** The HTTP API of each. */
  leaderApi: HttpApi;
  followerApi: HttpApi;
  close(): Promise<void>;
}

/** Health samples of db1 (primary) and db2 (replica), as the monitor publishes them. */
export function sendHealthy(bus: FakeBus): void {
  for (const [server, o] of Object.entries(healthy)) {
    bus.send(subjects.health("main", server), envelope("health", "monitor/m1", sample(server, o)));
  }
}

export async function twoDeciders(
  settings = apiSettings(),
  tls?: ApiTlsMaterial,
): Promise<TwoDeciders> {
  const bus = new FakeBus();
  const kv = { leases: new FakeKv(), state: new FakeKv() };
  const log = pino({ level: "silent" });
  const reader = new FakeReader();
  const make = (id: string) =>
    buildApp({
      bus,
      kv,
      clock: systemClock,
      log,
      config,
      id,
      leaseTtlMs: 1_000,
      renewEveryMs: 100,
      tickMs: 50,
    });
  const api = (app: DeciderApp, id: string) =>
    buildHttpApi({
      settings,
      clusters: config.clusters,
      commands: app,
      reader,
      deciderId: id,
      leading: () => app.leading(),
      log,
      monotonic: () => performance.now(),
      env: { CI_API_TOKEN: CI_TOKEN },
      ...(tls ? { tls } : {}),
      metrics: app.metrics.registry,
    });
  const leader = make("decider-a");
  leader.start();
  await until(() => leader.leases.get("main")?.leader === true);
  await until(() => bus.listens("marina.v1.main.leader.cmd.status"));
  const follower = make("decider-b");
  follower.start();
  sendHealthy(bus);
  const leaderApi = api(leader, "decider-a");
  const followerApi = api(follower, "decider-b");
  return {
    bus,
    leader,
    follower,
    reader,
    leaderApi,
    followerApi,
    async close() {
      await leaderApi.server.close();
      await followerApi.server.close();
      await follower.close();
      await leader.close();
    },
  };
}
