// A valid example of every message payload; the schema tests mutate them into bad ones.
const time = "2026-11-20T12:00:00.000Z";

export const replicationConnection = {
  connection: "",
  masterHost: "127.0.0.1",
  masterPort: 3306,
  ioThread: "Yes",
  sqlThread: true,
  ioState: "Waiting for master to send event",
  sqlState: "Slave has read all relay log; waiting for more updates",
  usingGtid: "Slave_Pos",
  gtidIoPos: "0-1-42",
  secondsBehindMaster: 0,
  lastIoErrno: 0,
  lastIoError: "",
  lastSqlErrno: 0,
  lastSqlError: "",
  heartbeatPeriodSec: 1,
  receivedHeartbeats: 12,
  quietMs: 120,
  relayLogSpace: 1024,
};

export const observation = {
  version: "10.11.19-MariaDB-0+deb12u1-log",
  serverId: 2,
  readOnly: true,
  logBin: true,
  logSlaveUpdates: true,
  gtidDomainId: 0,
  gtidStrictMode: true,
  gtidBinlogPos: "0-1-42",
  gtidBinlogState: "0-1-42",
  gtidCurrentPos: "0-1-42",
  gtidSlavePos: "0-1-42",
  semiSync: {
    masterEnabled: false,
    masterStatus: false,
    masterClients: 0,
    slaveEnabled: true,
    slaveStatus: true,
    masterWaitPoint: "AFTER_SYNC",
    masterTimeoutMs: 10000,
  },
  replication: [replicationConnection],
  disk: [],
  clientConnections: 3,
};

export const health = {
  cluster: "main",
  server: "db2",
  monitor: "m1",
  address: { host: "127.0.0.1", port: 3307 },
  probe: 7,
  reachable: true,
  latencyMs: 0.8,
  consecutiveFailures: 0,
  sinceLastSuccessMs: 0,
  error: null,
  observation,
};

export const link = {
  replica: "db2",
  connection: "",
  source: "db1",
  sourceAddress: { host: "127.0.0.1", port: 3306 },
  state: "replicating",
  reason: null,
};

export const observedTopology = {
  cluster: "main",
  monitor: "m1",
  primaries: ["db1"],
  replicas: ["db2", "db3"],
  relays: [],
  multiSource: [],
  writableReplicas: [],
  links: [link],
  brokenLinks: [],
  unreachable: [],
  standalone: [],
  unknownSources: [],
};

export const topology = {
  cluster: "main",
  epoch: 3,
  generation: 12,
  primary: "db1",
  writer: { server: "db1", host: "127.0.0.1", port: 3306 },
  servers: [
    {
      name: "db1",
      host: "127.0.0.1",
      port: 3306,
      role: "primary",
      sources: [],
      readOnly: false,
      gtidCurrentPos: "0-1-42",
      reason: null,
    },
    {
      name: "db2",
      host: "127.0.0.1",
      port: 3307,
      role: "replica",
      sources: [{ connection: "", source: "db1" }],
      readOnly: true,
      gtidCurrentPos: "0-1-42",
      reason: null,
    },
  ],
  lastOperation: null,
  changedAt: time,
};

export const clusterEvent = {
  cluster: "main",
  situation: "PrimaryUnreachableByMonitor",
  actionable: false,
  server: "db1",
  reason: "monitor m1 cannot reach db1 but db2, db3 still receive events from it",
  epoch: 3,
  extraGtids: null,
  details: { quietMs: 200 },
};

export const operation = {
  cluster: "main",
  opId: "op-1",
  kind: "failover",
  state: "running",
  phase: "promote",
  epoch: 3,
  servers: { failed: "db1", promoted: "db2" },
  message: "promoting db2",
  progress: null,
  startedAt: time,
  endedAt: null,
  error: null,
  timings: { verify: 12 },
};

export const replyOk = { ok: true, verb: "failover", opId: "op-1", message: "failover started" };
export const replyError = {
  ok: false,
  verb: "failover",
  error: { code: "UNKNOWN_SERVER", message: "no server db9", path: "target", retryable: false },
};

export const execRequest = {
  cluster: "main",
  server: "db2",
  opId: "op-1",
  stepId: "op-1.promote.1",
  epoch: 3,
  step: { kind: "change-master", connection: "", source: "db1", useGtid: "slave_pos" },
};

export const execResult = {
  stepId: "op-1.promote.1",
  ok: true,
  executor: "e1",
  durationMs: 4.2,
  data: {},
  error: null,
};

export const agentRequest = {
  host: "host1",
  opId: "op-2",
  epoch: 3,
  request: {
    action: "send-backup",
    server: "db2",
    compression: { kind: "pigz", level: 1 },
    tls: false,
    to: { address: "127.0.0.1", port: 4444 },
  },
};

export const agentResult = {
  host: "host1",
  opId: "op-2",
  ok: true,
  durationMs: 1800,
  data: { bytes: 1000 },
  error: null,
};

export const agentHeartbeat = {
  host: "host1",
  agentVersion: "0.1.0",
  uptimeMs: 1000,
  servers: [{ name: "db2", datadir: "/var/lib/mysql", mariadbdRunning: true, pid: 1234 }],
  tools: { "mariadb-backup": "10.11.19", socat: "1.7.4.4", zstd: null },
  busy: [],
};

export function wrap<T>(type: string, payload: T) {
  return { type, version: 1, id: "abc-1", time, source: "test", payload };
}
