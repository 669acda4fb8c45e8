// Builders of what the API answers, for the view-model tests.
import type {
  ClusterTopology,
  OperationEvent,
  OperationRecord,
  Published,
  StatusData,
  StatusServer,
} from "../src/web/model/api-types.js";

type Src = { connection: string; source: string }[];

export function statusServer(
  name: string,
  role: string,
  o: Partial<StatusServer> = {},
): StatusServer {
  return {
    name,
    host: "127.0.0.1",
    port: 3306,
    role,
    readOnly: role !== "primary",
    gtidCurrentPos: "0-1-10",
    lagSeconds: role === "primary" ? null : 0,
    situations: [],
    reason: null,
    agentHost: `agent-${name}`,
    sources: [],
    ...o,
  };
}

/** db1 primary, db2 and db3 its replicas. */
export function status(o: Partial<StatusData> = {}): StatusData {
  const from1: Src = [{ connection: "", source: "db1" }];
  return {
    cluster: "main",
    decider: "decider-1",
    epoch: 3,
    primary: "db1",
    writer: { server: "db1", host: "127.0.0.1", port: 3306 },
    operation: null,
    servers: [
      statusServer("db1", "primary", { situations: ["PrimaryHealthy"] }),
      statusServer("db2", "replica", { sources: from1 }),
      statusServer("db3", "replica", { sources: from1 }),
    ],
    clusterSituations: [],
    paused: null,
    maintenance: [],
    diverged: {},
    fenced: [],
    agents: { "agent-db1": 400, "agent-db2": 900, "agent-db3": 100 },
    topologyGeneration: 4,
    ...o,
  };
}

export function topology(
  generation: number,
  primary: string,
  servers: [string, string, Src][],
  epoch = 3,
): ClusterTopology {
  return {
    cluster: "main",
    epoch,
    generation,
    primary,
    writer: { server: primary, host: "127.0.0.1", port: 3306 },
    servers: servers.map(([name, role, sources]) => ({
      name,
      host: "127.0.0.1",
      port: 3306,
      role: role as ClusterTopology["servers"][number]["role"],
      sources,
      readOnly: role !== "primary",
      gtidCurrentPos: "0-1-12",
      reason: null,
    })),
    lastOperation: null,
    changedAt: "2026-12-05T08:00:00.000Z",
  };
}

export function opEvent(o: Partial<OperationEvent> & { phase: string }): OperationEvent {
  return {
    cluster: "main",
    opId: "op-1",
    kind: "failover",
    state: "running",
    epoch: 3,
    servers: { failed: "db1", candidate: "db2" },
    message: `phase ${o.phase}`,
    progress: null,
    startedAt: "2026-12-05T08:00:00.000Z",
    endedAt: null,
    error: null,
    timings: {},
    ...o,
  };
}

export function opFrame(time: string, o: Partial<OperationEvent> & { phase: string }): Published {
  return { kind: "operation", time, payload: opEvent(o) };
}

export function record(o: Partial<OperationRecord> = {}): OperationRecord {
  return {
    cluster: "main",
    id: "op-1",
    kind: "failover",
    outcome: "succeeded",
    trigger: "automatic",
    reason: "primary db1 failed",
    message: "db2 promoted in place of db1",
    error: null,
    request: null,
    decider: "decider-1",
    epoch: 3,
    servers: { failed: "db1", candidate: "db2" },
    startedAt: "2026-12-05T08:00:00.000Z",
    endedAt: "2026-12-05T08:00:00.400Z",
    durationMs: 400,
    phases: [
      { name: "inspect", durationMs: 50 },
      { name: "promote", durationMs: 40 },
      { name: "repoint", durationMs: 80 },
    ],
    steps: [],
    stepsOmitted: 0,
    agentCalls: [],
    ...o,
  };
}
