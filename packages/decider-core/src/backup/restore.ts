import type { BackupConnection, BackupManifest } from "@marina/contracts/agent";
import type { ProvisionProblem } from "../provision/checks.js";
import type { ProvisionPhase, ProvisionStep } from "../provision/plan.js";

// Restoring a replica — a multi-source one included — from one of its own backups: the agent
// replaces the datadir, then every connection of the backup's manifest is made again at the
// manifest's gtid_slave_pos, pointing at its source cluster's primary NOW (it may have failed
// over since the backup), with its filter. Pure: the decider service runs it
// (services/decider/src/backup/), a dry-run shows it.

/** A source cluster as the decider knows it now. */
export interface RestoreCluster {
  /** The cluster is configured and lists the server (a member of every source cluster). */
  listsServer: boolean;
  /** Its primary now (null: none known). */
  primary: string | null;
}

export interface RestoreInput {
  server: string;
  /** The cluster the command came to (the server's agent fences by it). */
  home: string;
  /** The agent host serving the server. */
  host: string;
  manifest: BackupManifest;
  /** Every cluster a manifest connection names, by name (absent: not configured). */
  clusters: Readonly<Record<string, RestoreCluster>>;
  /** The primary now (null: none known) of every cluster whose config lists the server. */
  primaries: Readonly<Record<string, string | null>>;
  verifyTimeoutMs: number;
  /** The limit the agent's restore-backup carries (the decider waits that long, and a margin). */
  limitMs: number;
}

/** The databases of `db.%` patterns (`_` unescaped); null when one is not a whole database. */
export function databasesOfFilter(patterns: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const p of patterns) {
    const m = /^((?:[A-Za-z0-9$_-]|\\_)+)\.%$/.exec(p.trim());
    if (!m) return null;
    out.push(m[1]!.replaceAll("\\_", "_"));
  }
  return out;
}

/** A connection is started again when one of its threads ran at the backup. */
export const wasRunning = (c: BackupConnection) => c.ioRunning || c.sqlRunning;

/** The clusters (sorted) whose primary is `server` now, of those `primaries` names. */
export function primaryIn(
  server: string,
  primaries: Readonly<Record<string, string | null>>,
): string[] {
  return Object.keys(primaries)
    .filter((c) => primaries[c] === server)
    .sort();
}

/** Every reason not to restore now, each naming its fix; empty when it may start. */
export function checkRestore(input: RestoreInput): ProvisionProblem[] {
  const { manifest: m, server } = input;
  const out: ProvisionProblem[] = [];
  // Never a primary: of a cluster listing it (its home included) or one a connection names.
  const named = Object.fromEntries(
    Object.entries(input.clusters).map(([c, k]) => [c, k.primary] as const),
  );
  const primaryOf = primaryIn(server, { ...input.primaries, ...named });
  if (primaryOf.length > 0) {
    out.push({
      path: "server",
      message: `${server} is the primary of ${primaryOf.join(", ")} now: a primary is never restored (switch over first)`,
    });
  }
  if (m.server !== server) {
    out.push({
      path: "backup",
      message: `backup ${m.id} is of ${m.server}, not of ${server}: restore a server from its own backups`,
    });
  }
  for (const c of m.connections) {
    const label = `connection '${c.name}'`;
    if (c.cluster === null) {
      out.push({
        path: "backup",
        message: `${label} pointed at ${c.masterHost}:${c.masterPort}, a server of no configured cluster: configure that cluster (with ${server} in its servers), or provision ${server} again`,
      });
      continue;
    }
    const k = input.clusters[c.cluster];
    if (!k?.listsServer) {
      out.push({
        path: "backup",
        message: `${label} follows cluster ${c.cluster}, which is not configured here or does not list ${server}: add ${server} to ${c.cluster}'s servers`,
      });
      continue;
    }
    if (k.primary === null) {
      out.push({
        path: "backup",
        message: `${label}: cluster ${c.cluster} has no known primary: wait until Marina reports one (marina -c ${c.cluster} status)`,
      });
    }
    if (!c.ioRunning || !c.sqlRunning) {
      out.push({
        path: "backup",
        message: `${label} was not running at the backup (IO ${c.ioRunning ? "on" : "off"}, SQL ${c.sqlRunning ? "on" : "off"}): a restore would leave it half-attached; take a backup while every connection runs, or provision ${server} again`,
      });
    }
    if (databasesOfFilter(c.wildDoTables) === null) {
      out.push({
        path: "backup",
        message: `${label}'s filter ${c.wildDoTables.join(",")} is not whole databases (db.%): set it again by hand after the restore, or provision ${server} again`,
      });
    }
  }
  return out;
}

/** The agent replaces the datadir (stop, copy, prepare, start). */
export function restoreDatadir(p: RestoreInput): ProvisionPhase {
  return {
    name: "restore",
    message: `${p.server}: datadir replaced by backup ${p.manifest.id} (${p.manifest.startedAt}, at ${p.manifest.gtidSlavePos || "(empty)"})`,
    steps: [],
    calls: [
      {
        key: "restore",
        host: p.host,
        server: p.server,
        action: {
          action: "restore-backup",
          server: p.server,
          id: p.manifest.id,
          limitMs: p.limitMs,
        },
      },
    ],
  };
}

/**
 * One connection to `primary` of `cluster` (through that cluster's executors): CHANGE MASTER
 * (a no-op when it points there already) and its filter again; then, when it ran at the
 * backup, started and verified.
 */
function connectionSteps(
  server: string,
  c: BackupConnection,
  cluster: string,
  primary: string,
  verifyTimeoutMs: number,
): { point: ProvisionStep[]; start: ProvisionStep[] } {
  const on = (key: string, step: ProvisionStep["step"]): ProvisionStep => ({
    key: `${key}-${c.name}`,
    cluster,
    server,
    step,
  });
  const databases = databasesOfFilter(c.wildDoTables) ?? [];
  return {
    point: [
      on("change", {
        kind: "change-master",
        connection: c.name,
        source: primary,
        useGtid: "slave_pos",
      }),
      ...(databases.length > 0
        ? [on("filter", { kind: "set-replication-filter", connection: c.name, databases })]
        : []),
    ],
    start: wasRunning(c)
      ? [
          on("start", { kind: "start-replication", connection: c.name }),
          on("verify", {
            kind: "verify-replicating",
            connection: c.name,
            timeoutMs: verifyTimeoutMs,
          }),
        ]
      : [],
  };
}

/** A connection's re-point to its source cluster's primary now, if that moved. */
export interface Repoint {
  connection: string;
  cluster: string;
  /** CHANGE MASTER to the primary now: a no-op (`changed: false`) when it points there. */
  change: ProvisionStep;
  /** Only when the change did something: the filter again, start and verify. */
  after: ProvisionStep[];
}

/**
 * Before a backup or a restore hands the server back (its maintenance cleared): each
 * connection of the manifest that follows a cluster, checked against that cluster's primary
 * now — one may have failed over meanwhile, and a failover skips servers in maintenance.
 * Problems: a cluster without a primary now (the server stays in maintenance).
 */
export function repointPlan(
  server: string,
  connections: readonly BackupConnection[],
  primaries: Readonly<Record<string, string | null>>,
  verifyTimeoutMs: number,
): { problems: string[]; repoints: Repoint[] } {
  const problems: string[] = [];
  const repoints: Repoint[] = [];
  for (const c of connections) {
    if (c.cluster === null) continue;
    const primary = primaries[c.cluster] ?? null;
    if (primary === null || primary === server) {
      problems.push(
        `connection '${c.name}': cluster ${c.cluster} has ${primary === null ? "no known primary" : `${server} as its primary`} now: it cannot be checked against its source`,
      );
      continue;
    }
    const s = connectionSteps(server, c, c.cluster, primary, verifyTimeoutMs);
    repoints.push({
      connection: c.name,
      cluster: c.cluster,
      change: s.point[0]!,
      after: [...s.point.slice(1), ...s.start],
    });
  }
  return { problems, repoints };
}

/**
 * Read-only first; every connection the restored datadir may carry forgotten; the manifest's
 * position; then each connection again, to its cluster's primary now, with its filter; the
 * ones that ran at the backup started and verified.
 */
export function restoreAttach(p: RestoreInput): ProvisionPhase {
  const { manifest: m } = p;
  const on = (key: string, cluster: string, step: ProvisionStep["step"]): ProvisionStep => ({
    key,
    cluster,
    server: p.server,
    step,
  });
  const steps: ProvisionStep[] = [
    on("ro", p.home, { kind: "set-read-only", readOnly: true }),
    ...[...new Set(["", ...m.connections.map((c) => c.name)])].map((name) =>
      on(`reset-${name || "default"}`, p.home, { kind: "reset-replication", connection: name }),
    ),
    on("pos", p.home, { kind: "set-gtid-slave-pos", pos: m.gtidSlavePos }),
  ];
  const sources = m.connections.flatMap((c) => {
    const primary = c.cluster ? p.clusters[c.cluster]?.primary : null;
    return c.cluster && primary ? [{ c, cluster: c.cluster, primary }] : [];
  });
  const each = sources.map((x) =>
    connectionSteps(p.server, x.c, x.cluster, x.primary, p.verifyTimeoutMs),
  );
  steps.push(...each.flatMap((x) => x.point), ...each.flatMap((x) => x.start));
  return {
    name: "attach",
    message: `${p.server} at ${m.gtidSlavePos || "(empty)"}: ${sources.map((s) => `'${s.c.name}' from ${s.primary} (${s.cluster})`).join(", ") || "no connection"}`,
    steps,
    calls: [],
  };
}
