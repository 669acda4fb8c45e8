import type { AgentAction } from "@marina/contracts/agent";
import type { Compression } from "@marina/contracts/commands";
import type { ExecStep } from "@marina/contracts/executor";

// What provisioning a multi-source replica does, phase by phase, as data: the decider
// service runs it (services/decider/src/provision/), a dry-run shows it. Every SQL step
// names the cluster it is sent through: a step on the target that points it at a source
// goes through that source's cluster, the only config that names both.

export interface ProvisionPlanSource {
  cluster: string;
  primary: string;
  /** The agent host serving the primary. */
  host: string;
  databases: string[];
  /** The request named the databases: the connection gets a filter (Replicate_Wild_Do_Table). */
  filtered: boolean;
}

export interface ProvisionPlanInput {
  target: string;
  /** The cluster the command came to (the target's agent fences by it). */
  home: string;
  targetHost: string;
  sources: ProvisionPlanSource[];
  compression: Compression;
  verifyTimeoutMs: number;
}

export interface ProvisionStep {
  key: string;
  /** The cluster whose executors run it (and whose lease fences it). */
  cluster: string;
  server: string;
  step: ExecStep;
}

export interface ProvisionCall {
  key: string;
  host: string;
  server: string;
  action: AgentAction;
}

export interface ProvisionPhase {
  /** `prepare`, `copy:<cluster>`, `attach`. */
  name: string;
  message: string;
  steps: ProvisionStep[];
  /** Copy phases: the target's receive first (its reply names the port), then the donor. */
  calls: ProvisionCall[];
}

/** The connection on the target for a source cluster: named after the cluster. */
export const connectionFor = (cluster: string) => cluster;

export function provisionPrepare(p: ProvisionPlanInput): ProvisionPhase {
  return {
    name: "prepare",
    message: `${p.target}: read_only=1 (a replica; flagged so until every source replicates)`,
    steps: [
      {
        key: "ro",
        cluster: p.home,
        server: p.target,
        step: { kind: "set-read-only", readOnly: true },
      },
    ],
    calls: [],
  };
}

/**
 * Source i's copy: the target listens (the first source's receive wipes the target — user
 * databases, binlogs, replication; later ones load on top of it), the donor streams
 * `mariadb-dump --single-transaction --gtid --master-data --databases …`.
 */
export function provisionCopy(
  p: ProvisionPlanInput,
  i: number,
  to: { address: string; port: number },
): ProvisionPhase {
  const s = p.sources[i]!;
  const transfer = {
    compression: p.compression,
    tls: false,
    method: "logical" as const,
    databases: s.databases,
  };
  return {
    name: `copy:${s.cluster}`,
    message: `${s.primary} (${s.cluster}) → ${p.target}: ${s.databases.join(", ")} (${i === 0 ? "target wiped first" : "loaded beside what is there"})`,
    steps: [],
    calls: [
      {
        key: `receive-${s.cluster}`,
        host: p.targetHost,
        server: p.target,
        action: {
          action: "receive-backup",
          server: p.target,
          ...transfer,
          ...(i > 0 ? { keep: true } : {}),
        },
      },
      {
        key: `send-${s.cluster}`,
        host: s.host,
        server: s.primary,
        action: { action: "send-backup", server: s.primary, ...transfer, to },
      },
    ],
  };
}

/**
 * Attach at the union of the sources' own positions: the default connection the dumps'
 * `CHANGE MASTER TO MASTER_USE_GTID` made is dropped, gtid_slave_pos set, then per source a
 * named connection, its filter, its start and a check that both threads run.
 */
export function provisionAttach(p: ProvisionPlanInput, slavePos: string): ProvisionPhase {
  const steps: ProvisionStep[] = [
    {
      key: "reset-default",
      cluster: p.home,
      server: p.target,
      step: { kind: "reset-replication", connection: "" },
    },
    {
      key: "pos",
      cluster: p.home,
      server: p.target,
      step: { kind: "set-gtid-slave-pos", pos: slavePos },
    },
  ];
  for (const s of p.sources) {
    const connection = connectionFor(s.cluster);
    steps.push({
      key: `change-${s.cluster}`,
      cluster: s.cluster,
      server: p.target,
      step: { kind: "change-master", connection, source: s.primary, useGtid: "slave_pos" },
    });
    if (s.filtered) {
      steps.push({
        key: `filter-${s.cluster}`,
        cluster: s.cluster,
        server: p.target,
        step: { kind: "set-replication-filter", connection, databases: s.databases },
      });
    }
  }
  for (const s of p.sources) {
    const connection = connectionFor(s.cluster);
    steps.push(
      {
        key: `start-${s.cluster}`,
        cluster: s.cluster,
        server: p.target,
        step: { kind: "start-replication", connection },
      },
      {
        key: `verify-${s.cluster}`,
        cluster: s.cluster,
        server: p.target,
        step: { kind: "verify-replicating", connection, timeoutMs: p.verifyTimeoutMs },
      },
    );
  }
  return {
    name: "attach",
    message: `${p.target} at ${slavePos || "(empty)"}: ${p.sources.map((s) => `'${connectionFor(s.cluster)}' from ${s.primary}`).join(", ")}`,
    steps,
    calls: [],
  };
}
