// Which server threads are "client connections". Pure.
import { type Row, text as textOf } from "../values.js";

const text = (row: Row, key: string): string => textOf(row[key], Number.POSITIVE_INFINITY);

function int(row: Row, key: string, fallback: number): number {
  const v = row[key];
  if (typeof v === "number" && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && /^-?[0-9]+$/.test(v.trim())) return Number(v.trim());
  return fallback;
}

export interface ThreadInfo {
  readonly id: number;
  readonly user: string;
  readonly host: string;
  readonly command: string;
  /** PROCESSLIST.STATE ('' when none). */
  readonly state: string;
}

export function mapThread(row: Row): ThreadInfo {
  return {
    id: int(row, "id", -1),
    user: text(row, "user"),
    host: text(row, "host"),
    command: text(row, "command"),
    state: text(row, "state"),
  };
}

// Server-internal threads (replica IO/SQL/worker threads run as 'system user').
const SYSTEM_USERS = new Set(["system user", "event_scheduler", "delayed"]);
// Replication: 'Binlog Dump' is a replica reading this server's binlog.
const SYSTEM_COMMANDS = new Set([
  "Binlog Dump",
  "Binlog Dump GTID",
  "Daemon",
  "Slave_IO",
  "Slave_SQL",
  "Slave_worker",
]);

export type KeepReason = "own" | "system" | "replication" | "marina" | "privileged";

export interface ThreadFilter {
  /** CONNECTION_ID() of the session asking. */
  readonly ownId: number;
  /**
   * Accounts whose sessions are never clients: Marina's admin account (other executors,
   * and monitors without an account of their own), the monitor's account and the
   * replication account. Killing a monitor's session would fake a failure.
   */
  readonly protectedUsers: ReadonlySet<string>;
  /**
   * User names that hold SUPER or READ_ONLY ADMIN (they write through read_only). Only
   * complete when the executor's account may read the mysql schema (`SELECT ON mysql.*`):
   * otherwise information_schema.USER_PRIVILEGES shows its own rows alone, and privileged
   * sessions are killed like any other (docs/security.md).
   */
  readonly privilegedUsers: ReadonlySet<string>;
  readonly includePrivileged: boolean;
}

/** Why a thread is not a client to kill, or undefined when it is one. */
export function keepReason(t: ThreadInfo, f: ThreadFilter): KeepReason | undefined {
  if (t.id === f.ownId) return "own";
  if (SYSTEM_USERS.has(t.user.toLowerCase()) || t.command === "Daemon") return "system";
  if (SYSTEM_COMMANDS.has(t.command)) return "replication";
  if (f.protectedUsers.has(t.user)) return "marina";
  if (!f.includePrivileged && f.privilegedUsers.has(t.user)) return "privileged";
  return undefined;
}

export function partitionThreads(
  threads: readonly ThreadInfo[],
  f: ThreadFilter,
): { kill: ThreadInfo[]; kept: Array<ThreadInfo & { reason: KeepReason }> } {
  const kill: ThreadInfo[] = [];
  const kept: Array<ThreadInfo & { reason: KeepReason }> = [];
  for (const t of threads) {
    if (t.id < 0) continue;
    const reason = keepReason(t, f);
    if (reason === undefined) kill.push(t);
    else kept.push({ ...t, reason });
  }
  return { kill, kept };
}

/**
 * User names out of information_schema grantees (`'app'@'%'`). Privileges are granted per
 * account (user@host) but a processlist row cannot be matched to its account reliably, so
 * a user name counts as privileged when any of its accounts is.
 */
export function granteeUser(grantee: string): string | undefined {
  const m = /^'((?:[^']|'')*)'@'.*'$/.exec(grantee.trim());
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

export function privilegedUserNames(grantees: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const g of grantees) {
    const u = granteeUser(g);
    if (u !== undefined) out.add(u);
  }
  return out;
}

/** A session whose commit waits for a semi-sync ack: the leader of a binlog group commit. */
export function waitsForAck(t: ThreadInfo): boolean {
  return /semi-sync ack/i.test(t.state);
}

/**
 * The order to kill in: every other session first, the ones waiting for a semi-sync ack
 * last. A waiting commit is the leader of its binlog group: when its wait ends (killed),
 * the whole group commits and every member still connected is answered OK — members that
 * never waited for an ack themselves. Killed first, they can hear nothing.
 */
export function killOrder<T extends ThreadInfo>(threads: readonly T[]): T[] {
  return [...threads.filter((t) => !waitsForAck(t)), ...threads.filter(waitsForAck)];
}
