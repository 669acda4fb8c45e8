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
  for (const { c, cluster, primary } of sources) {
    steps.push(
      on(`change-${c.name}`, cluster, {
        kind: "change-master",
        connection: c.name,
        source: primary,
        useGtid: "slave_pos",
      }),
    );
    const databases = databasesOfFilter(c.wildDoTables) ?? [];
    if (databases.length > 0) {
      steps.push(
        on(`filter-${c.name}`, cluster, {
          kind: "set-replication-filter",
          connection: c.name,
          databases,
        }),
      );
    }
  }
  for (const { c, cluster } of sources.filter((s) => wasRunning(s.c))) {
    steps.push(
      on(`start-${c.name}`, cluster, { kind: "start-replication", connection: c.name }),
      on(`verify-${c.name}`, cluster, {
        kind: "verify-replicating",
        connection: c.name,
        timeoutMs: p.verifyTimeoutMs,
      }),
    );
  }
  return {
    name: "attach",
    message: `${p.server} at ${m.gtidSlavePos || "(empty)"}: ${sources.map((s) => `'${s.c.name}' from ${s.primary} (${s.cluster})`).join(", ") || "no connection"}`,
    steps,
    calls: [],
  };
}
