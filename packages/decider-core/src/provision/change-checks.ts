import type { ProvisionFacts } from "@marina/contracts/agent";
import { domainsOf, parseGtidList } from "@marina/contracts/gtid";
import { DatabaseName } from "@marina/contracts/names";
import {
  checkPair,
  checkSource,
  checkTargetId,
  checkTargetRole,
  databasesOf,
  type ProvisionProblem,
  type ProvisionSource,
  readSources,
} from "./checks.js";
import { connectionFor } from "./plan.js";

// Adding one source to, or removing one from, a multi-source replica that replicates
// already (provision-replica mode add / remove). Pure, like checkProvision: every problem
// found, each naming its fix.

export interface SourceChangeInput {
  target: string;
  targetFacts: ProvisionFacts | null;
  /** The source added or removed (the request's only source). */
  source: ProvisionSource;
  /**
   * The sources already attached: the target's other connections named after a configured
   * cluster, each with what that cluster's primary says now.
   */
  attached: ProvisionSource[];
  replicationUser: string;
  homePrimary: string | null;
  promotableIn: string[];
}

/**
 * The target's databases among `names`, as the target spells them: with
 * lower_case_table_names 1 or 2 it compares names case-insensitively (App1 is its app1).
 */
export function heldBy(t: ProvisionFacts, names: readonly string[]): string[] {
  const key = (n: string) => ((t.lowerCaseTableNames ?? 0) > 0 ? n.toLowerCase() : n);
  const wanted = new Set(names.map(key));
  return t.databases.filter((d) => wanted.has(key(d)));
}

const connectionOf = (t: ProvisionFacts, cluster: string) =>
  t.connections.find((c) => c.name === connectionFor(cluster));

/**
 * The GTID domains the target shares with its attached sources already: every domain of an
 * attached primary's gtid_binlog_pos (the ones it writes, and any history it carries) and of
 * the target's gtid_slave_pos. An added source must not bring any of them but those the
 * attached write themselves (excluded by addedSourceDomains): replacing one would make a
 * connection replay or skip it.
 */
export function takenDomains(input: Pick<SourceChangeInput, "targetFacts" | "attached">): number[] {
  const lists = [
    input.targetFacts?.gtidSlavePos ?? "",
    ...input.attached.map((a) => a.facts?.gtidBinlogPos ?? ""),
  ];
  return [...new Set(lists.flatMap((l) => domainsOf(parseGtidList(l))))].sort((a, b) => a - b);
}

/** The domains of the added source's position the target has already, from another stream. */
function sharedDomains(input: SourceChangeInput): number[] {
  const f = input.source.facts;
  if (!f) return [];
  const writers = input.attached.flatMap((a) => (a.facts ? [a.facts.gtidDomainId] : []));
  const taken = takenDomains(input);
  const mine = [f.gtidDomainId, ...domainsOf(parseGtidList(f.gtidBinlogPos))];
  return [...new Set(mine)]
    .filter((d) => (d === f.gtidDomainId || !writers.includes(d)) && taken.includes(d))
    .sort((a, b) => a - b);
}

/** Every reason not to add `source` now; empty when it may start. */
export function checkAddSource(input: SourceChangeInput): ProvisionProblem[] {
  const out = checkTargetRole(input);
  const t = input.targetFacts;
  if (t === null) return out;
  const { source } = input;
  if (t.connections.length === 0) {
    out.push({
      path: "mode",
      message: `${input.target} replicates nothing yet: provision it (mode provision) instead of adding a source`,
    });
  }
  if (connectionOf(t, source.cluster)) {
    out.push({
      path: "sources.0.cluster",
      message: `${input.target} has a connection '${connectionFor(source.cluster)}' already: remove that source first (mode remove), or repair the connection`,
    });
  }
  out.push(...checkSource(input, source, 0));
  const [added] = readSources([source]);
  if (added) {
    for (const x of readSources(input.attached)) out.push(...checkPair(x, added));
    out.push(...checkTargetId(input.target, t, added));
    const shared = sharedDomains(input);
    if (shared.length > 0) {
      const list = shared.join(",");
      out.push({
        path: "sources.0.cluster",
        message: `${added.primary} (${source.cluster}) has GTID domain${shared.length > 1 ? "s" : ""} ${list} in its position, and ${input.target} has ${shared.length > 1 ? "them" : "it"} already (in its gtid_slave_pos, or through an attached source's binlog): setting ${shared.length > 1 ? "them" : "it"} from ${source.cluster}'s dump would make another connection replay or skip events — on ${added.primary}, purge the binary logs that hold ${shared.length > 1 ? "them" : "it"} and run FLUSH BINARY LOGS DELETE_DOMAIN_ID=(${list}), or give ${source.cluster} its own gtid_domain_id (SET GLOBAL gtid_domain_id=N and in [mysqld]) if it writes in one of them; a connection made by hand with IGNORE_DOMAIN_IDS=(${list}) is the other way`,
      });
    }
    const held = heldBy(t, databasesOf(source));
    if (held.length > 0) {
      out.push({
        path: "sources.0.databases",
        message: `${input.target} holds ${held.join(", ")} already (from another source, or left over): a source added is loaded on top and drops nothing — take other databases, or drop these on ${input.target} first`,
      });
    }
  }
  const unread = input.attached.filter((a) => a.facts === null);
  if (unread.length > 0) {
    out.push({
      path: "sources.0.cluster",
      message: `the primaries of ${unread.map((a) => a.cluster).join(", ")} (attached to ${input.target}) could not be read, so GTID domains and server ids cannot be compared: retry once they answer`,
    });
  }
  return out;
}

/**
 * The databases a connection's Replicate_Wild_Do_Table takes (`app1.%,x\_y.%` → app1, x_y);
 * null when it has no filter (it takes everything) or a pattern is not a whole database.
 */
export function filteredDatabases(wildDoTable: string | undefined): string[] | null {
  if (!wildDoTable) return null;
  const out: string[] = [];
  for (const p of wildDoTable.split(",")) {
    const m = /^(.+)\.%$/.exec(p.trim());
    if (!m || /(^|[^\\])[%_]/.test(m[1]!)) return null;
    out.push(m[1]!.replaceAll("\\_", "_").replaceAll("\\%", "%"));
  }
  return out;
}

export interface RemoveCheck {
  problems: ProvisionProblem[];
  /** Domains safe to take out of gtid_slave_pos: the source's, written by no other attached. */
  domains: number[];
  /** Databases to drop (dropDatabases). */
  drop: string[];
  /** Why a domain is kept, for the operator. */
  notes: string[];
}

/** Whether `source`'s connection can be removed, and what goes with it. */
export function checkRemoveSource(input: SourceChangeInput, dropDatabases: boolean): RemoveCheck {
  const t = input.targetFacts;
  const { source } = input;
  if (t === null) {
    return {
      problems: [
        { path: "target", message: `${input.target} could not be read: retry once it answers` },
      ],
      domains: [],
      drop: [],
      notes: [],
    };
  }
  const problems: ProvisionProblem[] = [];
  const notes: string[] = [];
  const conn = connectionOf(t, source.cluster);
  if (!conn) {
    problems.push({
      path: "sources.0.cluster",
      message: `${input.target} has no connection '${connectionFor(source.cluster)}' (it has ${t.connections.map((c) => `'${c.name}'`).join(", ") || "none"}): nothing to remove`,
    });
  }
  let drop: string[] = [];
  if (dropDatabases && conn) {
    const dbs = filteredDatabases(conn.wildDoTable);
    if (dbs === null) {
      problems.push({
        path: "dropDatabases",
        message: `'${conn.name}' has no database filter (it takes every database of ${source.cluster}): which databases are its own is not known — drop them by hand, or remove without dropDatabases`,
      });
    } else {
      // A filter set by hand may name what drop-databases refuses: refused here, before
      // RESET SLAVE, not after it.
      const bad = dbs.filter((d) => !DatabaseName.safeParse(d).success);
      if (bad.length > 0) {
        problems.push({
          path: "dropDatabases",
          message: `'${conn.name}' filters ${bad.map((d) => JSON.stringify(d)).join(", ")}, not database names Marina drops (1-64 letters, digits, '_', '$' or '-'): drop them by hand, or remove without dropDatabases`,
        });
      } else {
        drop = heldBy(t, dbs);
      }
    }
  }
  const domain = source.facts?.gtidDomainId;
  const others = input.attached.filter((a) => a.cluster !== source.cluster);
  let domains: number[] = [];
  if (domain === undefined) {
    notes.push(
      `gtid_slave_pos kept: the primary of ${source.cluster} could not be read (its domain is not known)`,
    );
  } else if (others.some((a) => a.facts === null)) {
    notes.push(
      `gtid_slave_pos kept: ${others
        .filter((a) => a.facts === null)
        .map((a) => a.cluster)
        .join(", ")} could not be read (whether they write domain ${domain} is not known)`,
    );
  } else if (others.some((a) => a.facts?.gtidDomainId === domain)) {
    notes.push(`gtid_slave_pos kept: another source writes domain ${domain}`);
  } else if (
    others.some((a) => domainsOf(parseGtidList(a.facts?.gtidBinlogPos ?? "")).includes(domain))
  ) {
    // Its events reach the target through that source too: without the domain in
    // gtid_slave_pos they would be sent again from its first one.
    notes.push(
      `gtid_slave_pos kept: the binlog of ${others
        .filter((a) => domainsOf(parseGtidList(a.facts?.gtidBinlogPos ?? "")).includes(domain))
        .map((a) => a.primary)
        .join(", ")} carries domain ${domain}`,
    );
  } else {
    domains = [domain];
  }
  return { problems, domains, drop, notes };
}
