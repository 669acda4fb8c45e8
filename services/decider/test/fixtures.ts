// What the decider's unit tests feed it: a two-server cluster (db1 the primary, db2 its
// replica on agent host `host2`), monitor samples, and a state store that can fail or hold.
import {
  ClusterConfig,
  type HealthSample,
  type MarinaConfig,
  type ServerObservation,
} from "@marina/contracts";
import type { DeciderState } from "@marina/decider-core";
import type { DecisionStore } from "../src/cluster-runner.js";

export const cluster = ClusterConfig.parse({
  name: "main",
  servers: [
    { name: "db1", host: "127.0.0.1", port: 3301 },
    { name: "db2", host: "127.0.0.1", port: 3302, agentHost: "host2" },
  ],
  admin: { user: "marina", password: { value: "x" } },
  replication: { user: "repl", password: { value: "y" } },
  semiSync: false,
  monitor: {},
  failover: { cooldownMs: 60_000 },
});

export const T0 = Date.parse("2026-11-20T12:00:00.000Z");
const POS = "0-1-100";

function observation(over: Partial<ServerObservation>): ServerObservation {
  return {
    version: "10.11.19-MariaDB",
    serverId: 1,
    readOnly: true,
    logBin: true,
    logSlaveUpdates: true,
    gtidDomainId: 0,
    gtidStrictMode: true,
    gtidBinlogPos: POS,
    gtidBinlogState: POS,
    gtidCurrentPos: POS,
    gtidSlavePos: "",
    semiSync: {
      masterEnabled: false,
      masterStatus: false,
      masterClients: 0,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10_000,
    },
    replication: [],
    disk: [],
    clientConnections: 0,
    ...over,
  };
}

/** db1 the writable primary, db2 its replica, both at POS. */
export const healthy: Record<string, ServerObservation> = {
  db1: observation({ readOnly: false }),
  db2: observation({
    serverId: 2,
    gtidSlavePos: POS,
    replication: [
      {
        connection: "",
        masterHost: "127.0.0.1",
        masterPort: 3301,
        ioThread: "Yes",
        sqlThread: true,
        ioState: "Waiting for master to send event",
        sqlState: "Slave has read all relay log; waiting for more updates",
        usingGtid: "Slave_Pos",
        gtidIoPos: POS,
        secondsBehindMaster: 0,
        lastIoErrno: 0,
        lastIoError: "",
        lastSqlErrno: 0,
        lastSqlError: "",
        heartbeatPeriodSec: 1,
        receivedHeartbeats: 10,
        quietMs: 200,
        relayLogSpace: 1024,
      },
    ],
  }),
};

let probe = 0;
export function sample(server: string, o: ServerObservation): HealthSample {
  probe += 1;
  return {
    cluster: "main",
    server,
    monitor: "m1",
    address: { host: "127.0.0.1", port: server === "db1" ? 3301 : 3302 },
    probe,
    reachable: true,
    latencyMs: 1,
    consecutiveFailures: 0,
    sinceLastSuccessMs: 0,
    error: null,
    observation: o,
  };
}

/** A store that notes `save` on the bus's timeline, and can fail or hold a write. */
export class FakeStore implements DecisionStore {
  readonly saved: DeciderState[] = [];
  persisted: DeciderState | undefined;
  fail = false;
  /** Saves are refused as compare-and-set conflicts until adoptOwnWrite() finds a landed write of ours. */
  staleRevision = false;
  adoptions = 0;
  /** While set, a save waits for it. */
  gate: Promise<void> | undefined;
  pending = 0;
  constructor(private readonly timeline: string[]) {}
  async load() {
    return this.persisted;
  }
  async save(state: DeciderState) {
    this.timeline.push("save");
    this.pending += 1;
    try {
      if (this.gate) await this.gate;
      if (this.fail) throw new Error("KV unavailable");
      if (this.staleRevision) throw new Error("wrong last sequence: 74");
      this.saved.push(state);
      return true;
    } finally {
      this.pending -= 1;
    }
  }
  forget() {}
  /** Whether adoptOwnWrite finds a landed write of ours (else a successor's). */
  ownWriteLanded = true;
  async adoptOwnWrite() {
    this.adoptions += 1;
    if (!this.ownWriteLanded) return false;
    this.staleRevision = false;
    return true;
  }
}

export const config: MarinaConfig = {
  nats: { servers: [], replicas: "auto" },
  clusters: [cluster],
  history: { maxAgeDays: 365, maxRecords: 100_000 },
};
