// The Marina config the tests of the operations run beside the cores share (provision-replica,
// backup, restore-backup): db3 is a multi-source replica listed in p1 = {db1, db3} and
// p2 = {db2, db3}; p3 = {db4} does not list it. Each server has an agent `h-<name>`.
import { type BackupManifest, MarinaConfig } from "@marina/contracts";
import { pino } from "pino";
import type { Bus } from "../src/bus.js";
import type { ClusterView, ProvisionDeps } from "../src/provision/context.js";

const server = (name: string, port: number) => ({
  name,
  host: "127.0.0.1",
  port,
  agentHost: `h-${name}`,
});
const base = {
  admin: { user: "marina", password: { value: "x" } },
  replication: { user: "repl", password: { value: "y" } },
  semiSync: false,
  monitor: {},
};
export const config = MarinaConfig.parse({
  nats: { servers: ["nats://127.0.0.1:4222"] },
  clusters: [
    // db3, the multi-source replica, is never promoted in either cluster (a check).
    {
      ...base,
      name: "p1",
      servers: [server("db1", 3301), { ...server("db3", 3303), promotion: "never" }],
    },
    {
      ...base,
      name: "p2",
      servers: [server("db2", 3302), { ...server("db3", 3303), promotion: "never" }],
    },
    { ...base, name: "p3", servers: [server("db4", 3304)] },
  ],
});

/** Each cluster's primary as the fake views report it. */
export const PRIMARIES: Record<string, string> = { p1: "db1", p2: "db2", p3: "db4" };

export interface FakeClusters {
  /** The clusters this decider leads. */
  led: readonly string[];
  primaries?: Record<string, string | null>;
  /** An operation running per cluster. */
  operations?: Record<string, string>;
  /** Maintenance reasons by `<cluster>/<server>`. */
  maintenance?: Record<string, string>;
}

/** What the handlers run beside the cores get: the config above, and fake cluster views. */
export function besideDeps(bus: Bus, w: FakeClusters): ProvisionDeps {
  const view = (name: string): ClusterView => ({
    acting: () => w.led.includes(name),
    epoch: () => 1,
    primary: () => (w.primaries ?? PRIMARIES)[name] ?? null,
    operation: () => w.operations?.[name] ?? null,
    maintenance: (s) => w.maintenance?.[`${name}/${s}`] ?? null,
    submit: async (verb) => ({ ok: true, verb, message: "" }),
  });
  return {
    busy: new Map(),
    bus,
    config,
    source: "decider-test",
    log: pino({ level: "silent" }),
    now: () => Date.parse("2026-12-05T12:00:00Z"),
    cluster: (name) => (config.clusters.some((c) => c.name === name) ? view(name) : undefined),
  };
}

export const BACKUP_ID = "20261205T154210Z";

/** A backup of db3 following p1 (from db1) and p2 (from db2), each filtered, both running. */
export const backupManifest = (over: Partial<BackupManifest> = {}): BackupManifest => ({
  version: 1,
  id: BACKUP_ID,
  server: "db3",
  startedAt: "2026-12-05T15:42:10.000Z",
  endedAt: "2026-12-05T15:42:12.000Z",
  gtidSlavePos: "1-1-10,2-2-20",
  domains: { "1": "1-1-10", "2": "2-2-20" },
  gtidBinlogPos: "",
  connections: ["p1", "p2"].map((c, i) => ({
    name: c,
    cluster: c,
    source: `db${i + 1}`,
    masterHost: "127.0.0.1",
    masterPort: 3301 + i,
    wildDoTables: [`src${i + 1}.%`],
    sqlRunning: true,
    ioRunning: true,
    gtidIoPos: "",
  })),
  bytes: 1000,
  slaveInfo: "",
  ...over,
});
