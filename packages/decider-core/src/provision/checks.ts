import type { ProvisionFacts } from "@marina/contracts/agent";

// Whether a server may be provisioned as a multi-source replica of the named clusters'
// primaries, from what the servers themselves said (provision-facts). Pure: every problem
// found is listed, each naming its fix, so an operator fixes them all in one go.

/** The schemas never copied (they belong to the server, not to an application). */
export const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"];

export interface ProvisionSource {
  /** The source cluster: the connection on the target is named after it. */
  cluster: string;
  /** Its primary now (null: none known). */
  primary: string | null;
  /** The databases asked for; null: every non-system database. */
  databases: string[] | null;
  facts: ProvisionFacts | null;
}

export interface ProvisionCheckInput {
  target: string;
  targetFacts: ProvisionFacts | null;
  sources: ProvisionSource[];
  overwrite: boolean;
  replicationUser: string;
  /** The primary of the target's own cluster (null: none known). */
  homePrimary: string | null;
  /**
   * The clusters (the target's own and the sources) whose config lets the target be
   * promoted (promotion other than never): a replica of only some databases, or of another
   * cluster's stream, must never become their primary.
   */
  promotableIn: string[];
}

export interface ProvisionProblem {
  /** The request field it is about. */
  path: string;
  message: string;
}

/** The databases a source gives: those asked for, or all its non-system ones. */
export function databasesOf(s: ProvisionSource): string[] {
  if (s.databases !== null) return s.databases;
  return (s.facts?.databases ?? []).filter((d) => !SYSTEM_SCHEMAS.includes(d));
}

/** Every reason not to provision now; empty when it may start. */
export function checkProvision(input: ProvisionCheckInput): ProvisionProblem[] {
  return [
    ...checkSourcesListed(input),
    ...input.sources.flatMap((s, i) => checkSource(input, s, i)),
    ...checkDistinct(input),
    ...checkTarget(input),
  ];
}

function checkSourcesListed(input: ProvisionCheckInput): ProvisionProblem[] {
  const out: ProvisionProblem[] = [];
  const seen = new Set<string>();
  input.sources.forEach((s, i) => {
    if (seen.has(s.cluster)) {
      out.push({
        path: `sources.${i}.cluster`,
        message: `cluster ${s.cluster} is named twice: name each source cluster once`,
      });
    }
    seen.add(s.cluster);
  });
  return out;
}

export function checkSource(
  input: Pick<ProvisionCheckInput, "target" | "replicationUser">,
  s: ProvisionSource,
  i: number,
): ProvisionProblem[] {
  const at = `sources.${i}`;
  if (s.primary === null) {
    return [
      {
        path: `${at}.cluster`,
        message: `cluster ${s.cluster} has no known primary: wait until Marina reports one (marina status ${s.cluster})`,
      },
    ];
  }
  if (s.primary === input.target) {
    return [
      {
        path: "target",
        message: `${input.target} is the primary of ${s.cluster}: a source cannot be its own replica; name another target`,
      },
    ];
  }
  const f = s.facts;
  if (f === null) {
    return [
      {
        path: `${at}.cluster`,
        message: `${s.primary} (${s.cluster}) could not be read: retry once it answers`,
      },
    ];
  }
  const out: ProvisionProblem[] = [];
  const who = `${s.primary} (primary of ${s.cluster})`;
  if (!f.logBin) {
    out.push({
      path: `${at}.cluster`,
      message: `${who} has no binary log: set log_bin (e.g. log_bin=binlog) in its [mysqld] and restart it`,
    });
  }
  if (f.replicationAccount === false) {
    out.push({
      path: `${at}.cluster`,
      message: `${who} has no replication account '${input.replicationUser}': create it there with REPLICATION SLAVE (docs/security.md)`,
    });
  }
  const system = (s.databases ?? []).filter((d) => SYSTEM_SCHEMAS.includes(d.toLowerCase()));
  if (system.length > 0) {
    out.push({
      path: `${at}.databases`,
      message: `${system.join(", ")} belong to the server, not to an application (its accounts, Marina's among them): never copied — name application databases only`,
    });
  }
  const missing = (s.databases ?? []).filter((d) => !f.databases.includes(d));
  if (missing.length > 0) {
    out.push({
      path: `${at}.databases`,
      message: `${who} has no database ${missing.join(", ")}: name databases it has (${f.databases.join(", ") || "none"})`,
    });
  }
  if (s.databases === null && databasesOf(s).length === 0) {
    out.push({
      path: `${at}.databases`,
      message: `${who} has no database besides the system schemas: nothing to copy`,
    });
  }
  if (f.nonInnodb.length > 0) {
    const tables = f.nonInnodb.map((t) => `${t.table} (${t.engine})`).join(", ");
    out.push({
      path: `${at}.databases`,
      message: `${who}: ${tables} not InnoDB — a copy without locks needs a transactional engine (--single-transaction); copying these would need a read lock held for the whole dump (LOCK TABLES / FLUSH TABLES WITH READ LOCK), stalling writes: convert them (ALTER TABLE … ENGINE=InnoDB) or leave their database out (sources[${i}].databases)`,
    });
  }
  return out;
}

/** A source as the distinctness checks see it: read, with a known primary. */
export interface ReadSource {
  s: ProvisionSource;
  /** Its index in the request (problems name `sources.<i>`). */
  i: number;
  f: ProvisionFacts;
  primary: string;
}

export function readSources(sources: readonly ProvisionSource[]): ReadSource[] {
  return sources.flatMap((s, i) =>
    s.facts && s.primary ? [{ s, i, f: s.facts, primary: s.primary }] : [],
  );
}

/** Two sources of one replica: distinct GTID domains, server ids and databases (`y` is blamed). */
export function checkPair(x: ReadSource, y: ReadSource): ProvisionProblem[] {
  const out: ProvisionProblem[] = [];
  if (x.f.gtidDomainId === y.f.gtidDomainId) {
    out.push({
      path: `sources.${y.i}.cluster`,
      message: `${x.primary} (${x.s.cluster}) and ${y.primary} (${y.s.cluster}) both write in gtid_domain_id ${x.f.gtidDomainId}: one replica cannot apply two streams in one domain — give one cluster another gtid_domain_id (SET GLOBAL gtid_domain_id=N and in [mysqld] on each of its servers)`,
    });
  }
  if (x.f.serverId === y.f.serverId) {
    out.push({
      path: `sources.${y.i}.cluster`,
      message: `${x.primary} (${x.s.cluster}) and ${y.primary} (${y.s.cluster}) share server_id ${x.f.serverId}: give one another server_id (SET GLOBAL server_id=N and in [mysqld])`,
    });
  }
  return out;
}

/** The target's server_id must differ from a source's: a replica ignores its own events. */
export function checkTargetId(
  target: string,
  t: ProvisionFacts | null,
  x: ReadSource,
): ProvisionProblem[] {
  if (!t || t.serverId !== x.f.serverId) return [];
  return [
    {
      path: "target",
      message: `${target} and ${x.primary} (${x.s.cluster}) share server_id ${t.serverId}: a replica ignores events with its own server_id — give ${target} another one`,
    },
  ];
}

/** GTID domains, server ids and databases must not collide between sources (and the target). */
function checkDistinct(input: ProvisionCheckInput): ProvisionProblem[] {
  const out: ProvisionProblem[] = [];
  const read = readSources(input.sources);
  for (let a = 0; a < read.length; a++) {
    const x = read[a]!;
    for (let b = a + 1; b < read.length; b++) {
      const y = read[b]!;
      out.push(...checkPair(x, y));
      const shared = databasesOf(x.s).filter((d) => databasesOf(y.s).includes(d));
      if (shared.length > 0) {
        out.push({
          path: `sources.${y.i}.databases`,
          message: `${shared.join(", ")} would come from both ${x.s.cluster} and ${y.s.cluster}: take each database from one source only (sources[].databases)`,
        });
      }
    }
    out.push(...checkTargetId(input.target, input.targetFacts, x));
  }
  return out;
}

/** Never a target, whatever `overwrite` says: a server that is (or may be) a primary. */
export function checkTargetRole(
  input: Pick<ProvisionCheckInput, "target" | "targetFacts" | "homePrimary" | "promotableIn">,
): ProvisionProblem[] {
  const t = input.targetFacts;
  if (t === null) {
    return [
      { path: "target", message: `${input.target} could not be read: retry once it answers` },
    ];
  }
  const out: ProvisionProblem[] = [];
  if (input.target === input.homePrimary) {
    out.push({
      path: "target",
      message: `${input.target} is the primary of its cluster: provisioning would drop its databases — name a spare server`,
    });
  }
  if (!t.readOnly) {
    out.push({
      path: "target",
      message: `${input.target} is writable (read_only=0): a target takes no writes — if it really is a spare, SET GLOBAL read_only=1 (and read_only=ON in its my.cnf) first`,
    });
  }
  if (input.promotableIn.length > 0) {
    out.push({
      path: "target",
      message: `${input.target} may be promoted in ${input.promotableIn.join(", ")}: a multi-source replica (another cluster's stream, or only some databases) must never become a primary — set promotion: never for ${input.target} in ${input.promotableIn.join(" and ")}'s servers`,
    });
  }
  return out;
}

function checkTarget(input: ProvisionCheckInput): ProvisionProblem[] {
  const t = input.targetFacts;
  const out = checkTargetRole(input);
  if (t === null || out.length > 0 || input.overwrite) return out;
  const held = t.databases.filter((d) => !SYSTEM_SCHEMAS.includes(d));
  if (held.length > 0) {
    out.push({
      path: "overwrite",
      message: `${input.target} is not empty (databases ${held.join(", ")}): empty it, or send overwrite: true to have them dropped`,
    });
  }
  if (t.connections.length > 0) {
    out.push({
      path: "overwrite",
      message: `${input.target} has replication connections (${t.connections.map((c) => `'${c.name}'`).join(", ")}): send overwrite: true to have them reset`,
    });
  }
  return out;
}
