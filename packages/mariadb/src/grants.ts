// What an account may do, read from `SHOW GRANTS`, and what it lacks against a list of
// needs. Pure: the lines come in, names of missing privileges come out.
//
// `SHOW GRANTS` (no FOR) is the session's view: the account's own lines, those of its
// active role and of every role granted to that role, and PUBLIC's (10.11) — each a
// `GRANT … ON <target> TO <grantee>` line, so their union is what the session may do.
// `SHOW GRANTS FOR CURRENT_USER()` leaves the role's privileges out (measured on 10.11).
// A line may carry a password hash (`IDENTIFIED BY PASSWORD '*…'`): never log the lines.

/** Where a privilege is granted: globally, or on one database. */
export type GrantScope = "*.*" | `${string}.*`;

export interface GrantSet {
  /** Global privileges (`ON *.*`), canonical names; `ALL PRIVILEGES` covers every one. */
  readonly global: ReadonlySet<string>;
  /** Database-level privileges by database name (`ON \`mysql\`.*` → "mysql"). */
  readonly databases: ReadonlyMap<string, ReadonlySet<string>>;
}

export const ALL_PRIVILEGES = "ALL PRIVILEGES";

/** Names 10.11 accepts in GRANT and prints differently in SHOW GRANTS. */
const ALIASES: Readonly<Record<string, string>> = {
  ALL: ALL_PRIVILEGES,
  "REPLICA MONITOR": "SLAVE MONITOR",
  "REPLICATION CLIENT": "BINLOG MONITOR",
  "REPLICATION REPLICA": "REPLICATION SLAVE",
  "REPLICATION REPLICA ADMIN": "REPLICATION SLAVE ADMIN",
};

/** A privilege's canonical name: upper case, single spaces, aliases resolved. */
export function canonicalPrivilege(name: string): string {
  const n = name.trim().replace(/\s+/g, " ").toUpperCase();
  return ALIASES[n] ?? n;
}

interface Parsed {
  readonly privileges: string[];
  readonly target: string;
}

/**
 * Splits `GRANT <list> ON <target> TO …` at top level: commas and ` ON ` inside backticks
 * or a column list `(…)` do not count. Lines without ` ON ` (role grants, SET DEFAULT
 * ROLE) give undefined.
 */
function splitGrantLine(line: string): Parsed | undefined {
  const text = line.trim();
  if (!/^GRANT\s/i.test(text)) return undefined;
  const privileges: string[] = [];
  let current = "";
  let depth = 0;
  let quoted = false;
  for (let i = 6; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "`") quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth = Math.max(0, depth - 1);
    if (!quoted && depth === 0) {
      if (ch === ",") {
        privileges.push(current);
        current = "";
        continue;
      }
      const on = /^\sON\s/i.exec(text.slice(i, i + 4));
      if (on) {
        privileges.push(current);
        const rest = text.slice(i + 4).trimStart();
        const target = /^((?:`(?:[^`]|``)*`|[^\s.`]+)\.(?:`(?:[^`]|``)*`|[^\s`]+))\s/.exec(rest);
        return target ? { privileges, target: target[1]! } : undefined;
      }
    }
    current += ch;
  }
  return undefined;
}

/** `\`my``db\`` → my`db; `*` stays. */
function unquote(part: string): string {
  return part.startsWith("`") ? part.slice(1, -1).replace(/``/g, "`") : part;
}

/** The database of a target `db.*`, `*` for `*.*`, undefined for a table or routine. */
function scopeOf(target: string): string | undefined {
  const m = /^(`(?:[^`]|``)*`|[^.`]+)\.\*$/.exec(target);
  return m ? unquote(m[1]!) : undefined;
}

/** The global and database-level privileges granted by `SHOW GRANTS` lines. */
export function parseGrants(lines: readonly string[]): GrantSet {
  const global = new Set<string>();
  const databases = new Map<string, Set<string>>();
  for (const line of lines) {
    const parsed = splitGrantLine(line);
    if (!parsed) continue;
    const scope = scopeOf(parsed.target);
    if (scope === undefined) continue; // table, column or routine level: not used here
    const into = scope === "*" ? global : (databases.get(scope) ?? new Set<string>());
    if (scope !== "*") databases.set(scope, into);
    for (const p of parsed.privileges) {
      // A column list (`SELECT (a, b)`) only ever appears on table targets, skipped above.
      const name = canonicalPrivilege(p.replace(/\(.*\)$/s, ""));
      if (name !== "" && name !== "USAGE") into.add(name);
    }
  }
  return { global, databases };
}

/** One thing an account must be able to do, and the privileges that allow it. */
export interface PrivilegeNeed {
  /** Privileges any one of which is enough; the first is the one to grant (least power). */
  readonly anyOf: readonly [string, ...string[]];
  /** `*.*`, or one database (`mysql.*`): a global grant of the same privilege covers it. */
  readonly on: GrantScope;
  /** What fails, or silently goes wrong, without it. */
  readonly reason: string;
  /**
   * Marina works without it, with the reduced behaviour the reason describes: reported
   * apart from the required ones.
   */
  readonly optional?: boolean;
}

export interface MissingPrivilege {
  /** The privilege to grant (`anyOf[0]`). */
  readonly privilege: string;
  /** Others that would do as well (e.g. SUPER), for the message. */
  readonly alternatives: readonly string[];
  readonly on: GrantScope;
  readonly reason: string;
  readonly optional: boolean;
}

function holds(set: ReadonlySet<string> | undefined, privilege: string): boolean {
  return set !== undefined && (set.has(ALL_PRIVILEGES) || set.has(canonicalPrivilege(privilege)));
}

/** True when `grants` satisfy `need` (ALL PRIVILEGES on the scope or globally included). */
export function satisfies(grants: GrantSet, need: PrivilegeNeed): boolean {
  const db = need.on === "*.*" ? undefined : need.on.slice(0, -2);
  return need.anyOf.some(
    (p) => holds(grants.global, p) || (db !== undefined && holds(grants.databases.get(db), p)),
  );
}

/** The needs `grants` do not satisfy, in the order of `needs`; one entry per need. */
export function missingPrivileges(
  grants: GrantSet,
  needs: readonly PrivilegeNeed[],
): MissingPrivilege[] {
  return needs
    .filter((n) => !satisfies(grants, n))
    .map((n) => ({
      privilege: canonicalPrivilege(n.anyOf[0]),
      alternatives: n.anyOf.slice(1).map(canonicalPrivilege),
      on: n.on,
      reason: n.reason,
      optional: n.optional === true,
    }));
}

/** `'user'@'host'` from CURRENT_USER()'s `user@host` (the host is after the last @). */
export function accountLiteral(currentUser: string): string {
  const at = currentUser.lastIndexOf("@");
  const [user, host] =
    at < 0 ? [currentUser, "%"] : [currentUser.slice(0, at), currentUser.slice(at + 1)];
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
  return `${q(user)}@${q(host)}`;
}

/**
 * The GRANT statements that add what is missing, one per scope:
 * `GRANT PROCESS, SLAVE MONITOR ON *.* TO 'marina_monitor'@'%'`.
 */
export function grantStatements(account: string, missing: readonly MissingPrivilege[]): string[] {
  const byScope = new Map<GrantScope, string[]>();
  for (const m of missing) {
    const list = byScope.get(m.on) ?? [];
    if (!list.includes(m.privilege)) list.push(m.privilege);
    byScope.set(m.on, list);
  }
  return [...byScope].map(([on, privileges]) => {
    const target = on === "*.*" ? on : `\`${on.slice(0, -2).replace(/`/g, "``")}\`.*`;
    return `GRANT ${privileges.join(", ")} ON ${target} TO ${account}`;
  });
}
