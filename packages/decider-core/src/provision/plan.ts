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
  /**
   * A source added to a replica that replicates already (mode add): the donor dumps with
   * `--master-data=2` and the target loads beside its running connections, reading the
   * position from the dump's comment.
   */
  addSource?: boolean;
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
    message: `${s.primary} (${s.cluster}) → ${p.target}: ${s.databases.join(", ")} (${p.addSource ? "loaded beside the running connections, position from the dump's comment" : i === 0 ? "target wiped first" : "loaded beside what is there"})`,
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
          ...(i > 0 || p.addSource ? { keep: true } : {}),
          ...(p.addSource ? { addSource: true } : {}),
        },
      },
      {
        key: `send-${s.cluster}`,
        host: s.host,
        server: s.primary,
        action: {
          action: "send-backup",
          server: s.primary,
          ...transfer,
          to,
          ...(p.addSource ? { addSource: true } : {}),
        },
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
  // Every connection made before any starts (as before: the order the e2e test checks).
  const each = p.sources.map((s) => connectSteps(p, s));
  for (const c of each) steps.push(...c.filter((x) => !/^(start|verify)-/.test(x.key)));
  for (const c of each) steps.push(...c.filter((x) => /^(start|verify)-/.test(x.key)));
  return {
    name: "attach",
    message: `${p.target} at ${slavePos || "(empty)"}: ${p.sources.map((s) => `'${connectionFor(s.cluster)}' from ${s.primary}`).join(", ")}`,
    steps,
    calls: p.sources.some((s) => s.filtered) ? [persistFiltersCall(p.targetHost, p.target)] : [],
  };
}

/** The target's filters written to its option file (a restart keeps them). */
export function persistFiltersCall(host: string, target: string): ProvisionCall {
  return {
    key: "persist-filters",
    host,
    server: target,
    action: { action: "persist-replication-filters", server: target },
  };
}

/** One source's named connection: CHANGE MASTER, its filter, START, verify. */
function connectSteps(p: ProvisionPlanInput, s: ProvisionPlanSource): ProvisionStep[] {
  const connection = connectionFor(s.cluster);
  const at = { cluster: s.cluster, server: p.target };
  return [
    {
      key: `change-${s.cluster}`,
      ...at,
      step: { kind: "change-master", connection, source: s.primary, useGtid: "slave_pos" },
    },
    ...(s.filtered
      ? [
          {
            key: `filter-${s.cluster}`,
            ...at,
            step: {
              kind: "set-replication-filter" as const,
              connection,
              databases: s.databases,
            },
          },
        ]
      : []),
    { key: `start-${s.cluster}`, ...at, step: { kind: "start-replication", connection } },
    {
      key: `verify-${s.cluster}`,
      ...at,
      step: { kind: "verify-replicating", connection, timeoutMs: p.verifyTimeoutMs },
    },
  ];
}

/**
 * How long replace-gtid-domains may take (the executor's socket, the decider's wait): STOP
 * SLAVE SQL_THREAD waits for a running DDL or a large group to end.
 */
export const GTID_PAUSE_TIMEOUT_MS = 600_000;

/**
 * The added source's attach (mode add; `p.sources` is that one source): its own domains
 * of the dump's position put into gtid_slave_pos while the other connections' SQL threads
 * pause (replace-gtid-domains), then its connection, filter, start, verify, and the
 * filters persisted.
 */
export function addSourceAttach(
  p: ProvisionPlanInput,
  domains: readonly number[],
  pos: string,
): ProvisionPhase {
  const s = p.sources[0]!;
  return {
    name: `attach:${s.cluster}`,
    message: `${p.target}: domains ${domains.join(", ")} of gtid_slave_pos := ${pos || "(none)"} (the other connections' SQL threads paused for it), '${connectionFor(s.cluster)}' from ${s.primary}`,
    steps: [
      {
        key: "pos",
        cluster: p.home,
        server: p.target,
        step: {
          kind: "replace-gtid-domains",
          domains: [...domains],
          pos,
          timeoutMs: GTID_PAUSE_TIMEOUT_MS,
        },
      },
      ...connectSteps(p, s),
    ],
    calls: s.filtered ? [persistFiltersCall(p.targetHost, p.target)] : [],
  };
}

export interface RemoveSourcePlanInput {
  target: string;
  home: string;
  targetHost: string;
  cluster: string;
  /** Domains taken out of gtid_slave_pos (none when another source writes them, or unknown). */
  domains: number[];
  /** Databases dropped (dropDatabases), not binlogged. */
  drop: string[];
}

/** mode remove: the source's connection stopped and forgotten; the others untouched. */
export function removeSourceDetach(p: RemoveSourcePlanInput): ProvisionPhase {
  const at = { cluster: p.home, server: p.target };
  const steps: ProvisionStep[] = [
    {
      key: `reset-${p.cluster}`,
      ...at,
      step: { kind: "reset-replication", connection: connectionFor(p.cluster) },
    },
  ];
  if (p.domains.length > 0) {
    steps.push({
      key: "pos",
      ...at,
      step: {
        kind: "replace-gtid-domains",
        domains: [...p.domains],
        pos: "",
        timeoutMs: GTID_PAUSE_TIMEOUT_MS,
      },
    });
  }
  if (p.drop.length > 0) {
    steps.push({ key: "drop", ...at, step: { kind: "drop-databases", databases: [...p.drop] } });
  }
  return {
    name: `detach:${p.cluster}`,
    message: `${p.target}: RESET SLAVE '${connectionFor(p.cluster)}' ALL${p.domains.length > 0 ? `, domains ${p.domains.join(", ")} out of gtid_slave_pos` : ", gtid_slave_pos kept"}${p.drop.length > 0 ? `, ${p.drop.join(", ")} dropped` : ""}`,
    steps,
    calls: [persistFiltersCall(p.targetHost, p.target)],
  };
}

/** mode restart: one source's connection stopped, started and verified; the others untouched. */
export function restartSourcePhase(
  p: Pick<RemoveSourcePlanInput, "target" | "cluster">,
  verifyTimeoutMs: number,
): ProvisionPhase {
  const connection = connectionFor(p.cluster);
  const at = { cluster: p.cluster, server: p.target };
  return {
    name: `restart:${p.cluster}`,
    message: `${p.target}: STOP SLAVE '${connection}', START SLAVE '${connection}', verified`,
    steps: [
      { key: `stop-${p.cluster}`, ...at, step: { kind: "stop-replication", connection } },
      { key: `start-${p.cluster}`, ...at, step: { kind: "start-replication", connection } },
      {
        key: `verify-${p.cluster}`,
        ...at,
        step: { kind: "verify-replicating", connection, timeoutMs: verifyTimeoutMs },
      },
    ],
    calls: [],
  };
}
