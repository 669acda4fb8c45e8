// Shapes the decider publishes, for the formatting tests.
import type { ClusterTopology, OperationEvent } from "@marina/contracts";
import type { StatusData } from "../src/status-reply.js";

export const NOW = new Date("2026-11-20T12:00:10.000Z");

export function topologyOf(
  servers: Array<Partial<ClusterTopology["servers"][number]> & { name: string }>,
  primary: string | null = "db1",
): ClusterTopology {
  return {
    cluster: "main",
    epoch: 3,
    generation: 7,
    primary,
    writer: primary ? { server: primary, host: "10.0.0.1", port: 3306 } : null,
    servers: servers.map((s, i) => ({
      host: `10.0.0.${i + 1}`,
      port: 3306,
      role: "replica",
      sources: [],
      readOnly: true,
      gtidCurrentPos: "0-1-100",
      reason: null,
      ...s,
    })),
    lastOperation: null,
    changedAt: "2026-11-20T12:00:00.000Z",
  };
}

export function statusOf(over: Partial<StatusData> = {}): StatusData {
  return {
    cluster: "main",
    decider: "decider-1",
    epoch: 3,
    primary: "db1",
    writer: { server: "db1", host: "10.0.0.1", port: 3306 },
    operation: null,
    servers: [
      {
        name: "db1",
        role: "primary",
        readOnly: false,
        gtidCurrentPos: "0-1-100",
        situations: ["PrimaryHealthy"],
        reason: null,
      },
      {
        name: "db2",
        role: "replica",
        readOnly: true,
        gtidCurrentPos: "0-1-100",
        situations: [],
        reason: null,
      },
      {
        name: "db3",
        role: "replica",
        readOnly: true,
        gtidCurrentPos: "0-1-88",
        situations: ["ReplicaLagging"],
        reason: null,
      },
    ],
    clusterSituations: [],
    maintenance: [],
    diverged: {},
    fenced: [],
    agents: { "agent-db1": 300, "agent-db2": 12_000, "agent-db3": null },
    failovers: { inWindow: 0, maxPerWindow: 3, lastAt: null, cooldownUntil: null },
    topologyGeneration: 7,
    history: [],
    primaryPosition: "0-1-100",
    ...over,
  };
}

export function opEvent(over: Partial<OperationEvent> = {}): OperationEvent {
  return {
    cluster: "main",
    opId: "op-1",
    kind: "switchover",
    state: "running",
    phase: "start",
    epoch: 3,
    servers: { old: "db1", target: "db2" },
    message: "started: switchover from db1 to db2",
    progress: null,
    startedAt: "2026-11-20T12:00:00.000Z",
    endedAt: null,
    error: null,
    timings: {},
    ...over,
  };
}
