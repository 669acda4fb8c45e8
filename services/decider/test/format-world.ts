// A real nats-server with the decider's buckets, for the format and mixed-release tests:
// records are seeded as an older release left them, deciders started with their logs kept,
// and the persisted records read back.
import {
  ClusterConfig,
  LEASE_BUCKET,
  type MarinaConfig,
  PRESENCE_BUCKET,
  STATE_BUCKET,
} from "@marina/contracts";
import { makeLabDir, type NatsServer, removeTree, startNats } from "@marina/lab";
import type { KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import type { DeciderApp } from "../src/app.js";
import { ensureBucket } from "../src/jetstream-setup.js";
import { type StartDeciderOptions, startDecider } from "../src/start.js";
import { bytes, formatOne } from "./format-fixtures.js";

export const TTL_MS = 1500;

/** The cluster of the recorded states: db1..db3 at the addresses they were recorded with. */
export function recordedConfig(): MarinaConfig {
  const last = (formatOne("state-after-failover").topology as { last: { servers: object[] } }).last;
  const servers = last.servers.map((s) => {
    const { name, host, port } = s as { name: string; host: string; port: number };
    return { name, host, port };
  });
  const cluster = ClusterConfig.parse({
    name: "main",
    servers,
    admin: { user: "marina", password: { value: "x" } },
    replication: { user: "repl", password: { value: "y" } },
    semiSync: true,
    monitor: {},
  });
  return {
    nats: { servers: [], replicas: "auto" },
    clusters: [cluster],
    history: { maxAgeDays: 365, maxRecords: 100_000 },
  };
}

export interface RunningDecider {
  readonly id: string;
  readonly app: DeciderApp;
  readonly logs: Record<string, unknown>[];
  leads(): boolean;
  epoch(): number;
}

export interface FormatWorld {
  readonly nc: NatsConnection;
  readonly leases: KV;
  readonly state: KV;
  readonly presence: KV;
  /** The value of a key as JSON (undefined: absent or deleted), with its revision. */
  read(kv: KV, key: string): Promise<{ value: unknown; revision: number } | undefined>;
  put(kv: KV, key: string, value: unknown): Promise<void>;
  decider(
    id: string,
    extra?: Pick<StartDeciderOptions, "formats" | "stateWriteFormat">,
  ): Promise<RunningDecider>;
  close(): Promise<void>;
}

export async function formatWorld(): Promise<FormatWorld> {
  const dir = await makeLabDir();
  let nats: NatsServer | undefined;
  const conns: NatsConnection[] = [];
  const apps: DeciderApp[] = [];
  const silent = pino({ level: "silent" });
  try {
    nats = await startNats({ dir });
    const nc = await connect({ servers: nats.url });
    conns.push(nc);
    // As startDecider makes them (it binds them again).
    const bucket = (name: string, ttl?: number) =>
      ensureBucket(nc, name, { history: 1, ...(ttl ? { ttl } : {}) }, "auto", silent);
    const leases = await bucket(LEASE_BUCKET, TTL_MS);
    const state = await bucket(STATE_BUCKET);
    const presence = await bucket(PRESENCE_BUCKET, TTL_MS);
    const url = nats.url;
    return {
      nc,
      leases,
      state,
      presence,
      async read(kv, key) {
        const e = await kv.get(key);
        if (e?.operation !== "PUT") return undefined;
        return { value: e.json(), revision: e.revision };
      },
      async put(kv, key, value) {
        await kv.put(key, typeof value === "string" ? value : bytes(value));
      },
      async decider(id, extra = {}) {
        const dnc = await connect({ servers: url });
        conns.push(dnc);
        const logs: Record<string, unknown>[] = [];
        const log = pino(
          { level: "info", base: { decider: id } },
          { write: (l: string) => void logs.push(JSON.parse(l)) },
        );
        const app = await startDecider({
          config: recordedConfig(),
          id,
          nc: dnc,
          log,
          leaseTtlMs: TTL_MS,
          renewEveryMs: 250,
          sharing: { handoverStableMs: 1000, handoverBackoffMs: 1000 },
          ...extra,
        });
        apps.push(app);
        return {
          id,
          app,
          logs,
          leads: () => app.leading().includes("main"),
          epoch: () => app.leases.get("main")!.epoch,
        };
      },
      async close() {
        for (const a of apps) await a.close(false).catch(() => {});
        for (const c of conns) await c.close().catch(() => {});
        await nats?.stop();
        await removeTree(dir);
      },
    };
  } catch (err) {
    for (const c of conns) await c.close().catch(() => {});
    await nats?.stop();
    await removeTree(dir);
    throw err;
  }
}
