// Fencing a server that may be a primary: the one implementation the executor's fence and
// kill-clients steps and the agent's self-fence share.
//
// A commit waiting for a semi-sync ack goes ahead and answers OK when the wait ends for ANY
// reason — an ack, semi-sync switched off, the timeout, KILL QUERY — unless the client's
// connection is gone. And `SET GLOBAL read_only=1` blocks new writes at once, then waits
// for the commits in flight. So the only order that never turns a waiting commit into an
// acknowledged write:
//   1. read_only=1 issued on one session, not waited for;
//   2. meanwhile, on a second session, client connections killed, round after round, until
//      read_only=1 returns (a commit that slipped in before the read lock and began waiting
//      after a round is killed by the next one; read_only cannot return while it waits);
//   3. one more round (sessions that connected meanwhile; privileged ones write through
//      read_only);
//   4. only then may semi-sync master go off — nothing is waiting any more.
// The waiters' transactions are committed locally (they are in the binlog) but no client
// was told so: the server may come out diverged, never with a write someone trusts.
import { errnoOf } from "../errors.js";
import type { Row } from "../values.js";
import { killOrder, mapThread, partitionThreads, privilegedUserNames } from "./threads.js";

/** The statements this needs (the executor's session and the agent's local one fit). */
export interface FenceSql {
  rows(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  run(stmt: { readonly sql: string; readonly params?: readonly unknown[] }): Promise<void>;
}

export interface KillOptions {
  /**
   * Accounts whose sessions are never clients (Marina's own: killing a monitor's session
   * would fake a failure).
   */
  readonly protectedUsers: ReadonlySet<string>;
  /** Kill SUPER / READ_ONLY ADMIN sessions too (they write through read_only). */
  readonly includePrivileged: boolean;
}

export type KillRound = {
  killed: Array<{ id: number; user: string; host: string }>;
  kept: Array<{ id: number; user: string; reason: string }>;
};

const UNKNOWN_THREAD = 1094;
const ROUND_PAUSE_MS = 10;

export const SELECT_THREADS =
  "SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, STATE AS state " +
  "FROM information_schema.PROCESSLIST";
export const SELECT_PRIVILEGED_GRANTEES =
  "SELECT GRANTEE AS grantee FROM information_schema.USER_PRIVILEGES " +
  "WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN')";
export const SELECT_CONNECTION_ID = "SELECT CONNECTION_ID() AS id";

export function killConnection(id: number): { sql: string } {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new Error(`thread id ${id} is not an unsigned integer`);
  }
  return { sql: `KILL CONNECTION ${id}` };
}

export function setReadOnly(on: boolean): { sql: string } {
  return { sql: `SET GLOBAL read_only = ${on ? "ON" : "OFF"}` };
}

const idOf = (rows: readonly Row[]): number => {
  const v = rows[0]?.id;
  return typeof v === "number" || typeof v === "bigint" ? Number(v) : -1;
};

/**
 * Prepares kill rounds on `db`: each round kills the client connections — not system or
 * replication threads, not `db`'s own session, not the protected accounts; privileged
 * users only when `includePrivileged`. A thread gone meanwhile (1094) counts as killed.
 * KILL CONNECTION shuts the client's socket, so a commit it was waiting on is never
 * answered OK — but a commit waiting for a semi-sync ack leads a binlog group, and ending
 * its wait commits the whole group: the sessions waiting for an ack are killed last
 * (killOrder), after every member of their group. The own id and the privileged users are
 * read once, so rounds 10 ms apart each cost one PROCESSLIST read plus the kills.
 */
export async function clientKiller(
  db: FenceSql,
  o: KillOptions,
): Promise<() => Promise<KillRound>> {
  const ownId = idOf(await db.rows(SELECT_CONNECTION_ID));
  const privileged = o.includePrivileged
    ? new Set<string>()
    : privilegedUserNames(
        (await db.rows(SELECT_PRIVILEGED_GRANTEES)).map((r) => String(r.grantee ?? "")),
      );
  const filter = {
    ownId,
    protectedUsers: o.protectedUsers,
    privilegedUsers: privileged,
    includePrivileged: o.includePrivileged,
  };
  return async () => {
    const threads = (await db.rows(SELECT_THREADS)).map(mapThread);
    const { kill, kept } = partitionThreads(threads, filter);
    const killed: KillRound["killed"] = [];
    for (const t of killOrder(kill)) {
      try {
        await db.run(killConnection(t.id));
      } catch (err) {
        if (errnoOf(err) !== UNKNOWN_THREAD) throw err;
      }
      killed.push({ id: t.id, user: t.user, host: t.host });
    }
    return { killed, kept: kept.map((t) => ({ id: t.id, user: t.user, reason: t.reason })) };
  };
}

/** Kills client connections once (see clientKiller). */
export async function killClientConnections(db: FenceSql, o: KillOptions): Promise<KillRound> {
  return (await clientKiller(db, o))();
}

/** Kill rounds on `db` until `done` settles; returns every connection killed. */
async function killUntil(
  db: FenceSql,
  o: KillOptions,
  done: Promise<unknown>,
  sleep: (ms: number) => Promise<void>,
): Promise<{ killed: KillRound["killed"]; rounds: number }> {
  const round = await clientKiller(db, o);
  let settled = false;
  const mark = () => {
    settled = true;
  };
  done.then(mark, mark);
  const killed: KillRound["killed"] = [];
  let rounds = 0;
  while (!settled) {
    killed.push(...(await round()).killed);
    rounds += 1;
    await Promise.race([done.catch(() => {}), sleep(ROUND_PAUSE_MS)]);
  }
  return { killed, rounds };
}

/**
 * Steps 1–2 above: read_only=1 on `db` while a second session (`killer`) kills clients
 * round after round until it returns. The caller runs step 3 (one more round) and closes
 * `killer`.
 */
export async function readOnlyKilling(
  db: FenceSql,
  killer: FenceSql,
  o: KillOptions,
  sleep: (ms: number) => Promise<void>,
): Promise<{ killed: KillRound["killed"]; rounds: number }> {
  const ro = db.run(setReadOnly(true));
  const out = await killUntil(killer, o, ro, sleep);
  await ro;
  return out;
}

/** Connections killed once each, by id. */
export function uniqueKilled(killed: KillRound["killed"]): KillRound["killed"] {
  return [...new Map(killed.map((k) => [k.id, k])).values()];
}
