// The start-up privilege check every service runs: read the session's grants on each
// server it can reach, compare them with its needs (grants.ts, pure), and say by name what
// is missing and why. It never throws and never waits on a dead server for longer than a
// connect timeout: a server down at start is reported as not checked and the service
// starts anyway.

import { type Connector, closeConnection, type DbTarget } from "./connect.js";
import {
  accountLiteral,
  type GrantScope,
  grantStatements,
  type MissingPrivilege,
  missingPrivileges,
  type PrivilegeNeed,
  parseGrants,
} from "./grants.js";
import type { Row } from "./values.js";

/** What a session says about itself. */
export interface GrantsReading {
  /** CURRENT_USER(): `user@host` of the account the server matched. */
  readonly account: string;
  /** SHOW GRANTS lines (may hold a password hash: never log them). */
  readonly lines: readonly string[];
}

/** Reads the grants on a connection of its own, closed afterwards (the monitor's way). */
export async function readGrantsAt(connect: Connector, target: DbTarget): Promise<GrantsReading> {
  const conn = await connect({ ...target, multipleStatements: false });
  try {
    return await readGrants(async (sql) => {
      const r: unknown = await conn.query(sql);
      return Array.isArray(r) ? (r as Row[]) : [];
    });
  } finally {
    await closeConnection(conn);
  }
}

/** Reads CURRENT_USER() and SHOW GRANTS through `rows` (no privilege needed for either). */
export async function readGrants(
  rows: (sql: string) => Promise<readonly Row[]>,
): Promise<GrantsReading> {
  const [who] = await rows("SELECT CURRENT_USER() AS account");
  const lines = (await rows("SHOW GRANTS")).map((r) => String(Object.values(r)[0] ?? ""));
  return { account: String(who?.account ?? ""), lines };
}

export interface PrivilegeReport {
  /** `'user'@'host'`, as a GRANT names it. */
  readonly account: string;
  readonly missing: readonly MissingPrivilege[];
  readonly optional: readonly MissingPrivilege[];
}

/** Pure: the reading compared with `needs`. */
export function privilegeReport(
  reading: GrantsReading,
  needs: readonly PrivilegeNeed[],
): PrivilegeReport {
  const all = missingPrivileges(parseGrants(reading.lines), needs);
  return {
    account: accountLiteral(reading.account),
    missing: all.filter((m) => !m.optional),
    optional: all.filter((m) => m.optional),
  };
}

function named(m: MissingPrivilege): string {
  const alt = m.alternatives.length > 0 ? ` (or ${m.alternatives.join(" or ")})` : "";
  const on = m.on === "*.*" ? "" : ` ON ${m.on}`;
  return `${m.privilege}${on}${alt}: ${m.reason}`;
}

/**
 * One line naming the account, every missing privilege and what needs it, and the GRANT
 * that adds them: `the monitor's MariaDB account 'm'@'%' on db1 lacks PROCESS: …. Grant: …`.
 */
export function describeMissing(
  role: string,
  server: string,
  account: string,
  missing: readonly MissingPrivilege[],
): string {
  const optional = missing.every((m) => m.optional);
  const what = optional ? "does without the optional" : "lacks";
  return `the ${role}'s MariaDB account ${account} on ${server} ${what} ${missing.map(named).join("; ")}. Grant: ${grantStatements(account, missing).join("; ")}`;
}

/** Where to log; a pino logger fits. */
export interface CheckLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface PrivilegeCheckTarget {
  /** The server's name, for messages. */
  readonly server: string;
  /** Extra fields of every log line (cluster, …). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The configured user name, named when the server cannot be read. */
  readonly user: string;
  /** Opens a session, reads its grants, closes it; rejects when the server is out of reach. */
  readonly read: () => Promise<GrantsReading>;
}

export type PrivilegeCheckResult =
  | { readonly server: string; readonly kind: "checked"; readonly report: PrivilegeReport }
  | { readonly server: string; readonly kind: "unreadable"; readonly error: string };

interface MissingField {
  readonly privilege: string;
  readonly on: GrantScope;
  readonly reason: string;
}

const fields = (ms: readonly MissingPrivilege[]): MissingField[] =>
  ms.map((m) => ({ privilege: m.privilege, on: m.on, reason: m.reason }));

/**
 * Checks every target at once and logs: a warning (code MISSING_PRIVILEGE) per server whose
 * account lacks a required privilege, an info line for missing optional ones and for a
 * server that could not be read. Resolves with what it found; never rejects.
 */
export async function checkPrivileges(
  role: string,
  targets: readonly PrivilegeCheckTarget[],
  needs: readonly PrivilegeNeed[],
  log: CheckLog,
): Promise<PrivilegeCheckResult[]> {
  return Promise.all(
    targets.map(async (t): Promise<PrivilegeCheckResult> => {
      const base = { ...t.labels, server: t.server };
      let reading: GrantsReading;
      try {
        reading = await t.read();
      } catch (err) {
        const error = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
        log.info(
          { ...base, user: t.user, error },
          `privileges of the ${role} account not checked on ${t.server}: cannot read them now`,
        );
        return { server: t.server, kind: "unreadable", error };
      }
      const report = privilegeReport(reading, needs);
      const account = report.account;
      if (report.missing.length > 0) {
        log.warn(
          {
            ...base,
            code: "MISSING_PRIVILEGE",
            account,
            missing: fields(report.missing),
            grant: grantStatements(account, report.missing),
          },
          describeMissing(role, t.server, account, report.missing),
        );
      }
      if (report.optional.length > 0) {
        log.info(
          { ...base, account, optional: fields(report.optional) },
          describeMissing(role, t.server, account, report.optional),
        );
      }
      return { server: t.server, kind: "checked", report };
    }),
  );
}
