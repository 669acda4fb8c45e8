import type { Session } from "../db.js";
import { flag } from "../rows.js";
import * as sql from "../sql.js";
import type { StepContext, StepRunner } from "./context.js";
import { clientKiller, type KillRound, killClientConnections } from "./kill-clients.js";

// Fencing a server that may be a primary. A commit waiting for a semi-sync ack goes ahead
// and answers OK when the wait ends for ANY reason — an ack, semi-sync switched off, the
// timeout, KILL QUERY — unless the client's connection is gone. And `SET GLOBAL read_only=1`
// blocks new writes at once, then waits for the commits in flight. So the only order that
// never turns a waiting commit into an acknowledged write:
//   1. read_only=1 issued on one session, not waited for;
//   2. meanwhile, on a second session, client connections killed, round after round, until
//      read_only=1 returns (a commit that slipped in before the read lock and began waiting
//      after a round is killed by the next one; read_only cannot return while it waits);
//   3. one more round (sessions that connected meanwhile; privileged ones write through
//      read_only);
//   4. only then semi-sync master off — nothing is waiting any more.
// The waiters' transactions are committed locally (they are in the binlog) but no client
// was told so: the server may come out diverged, never with a write someone trusts.

const ROUND_PAUSE_MS = 10;

type Killed = KillRound["killed"];

function includePrivileged(kill: "all" | "unprivileged" | "none"): boolean {
  return kill === "all";
}

/** Kill rounds on `db` until `done` settles; returns every connection killed. */
async function killUntil(
  ctx: StepContext,
  db: Session,
  privileged: boolean,
  done: Promise<unknown>,
): Promise<{ killed: Killed; rounds: number }> {
  const round = await clientKiller(ctx, db, privileged);
  let settled = false;
  const mark = () => {
    settled = true;
  };
  done.then(mark, mark);
  const killed: Killed = [];
  let rounds = 0;
  while (!settled) {
    killed.push(...(await round()).killed);
    rounds += 1;
    await Promise.race([done.catch(() => {}), ctx.clock.sleep(ROUND_PAUSE_MS)]);
  }
  return { killed, rounds };
}

/** read_only=1 with clients killed while it waits (the session for kills is opened here). */
async function readOnlyKilling(ctx: StepContext, privileged: boolean) {
  const killer = await ctx.openSession();
  try {
    const ro = ctx.db.run(sql.setReadOnly(true));
    const out = await killUntil(ctx, killer, privileged, ro);
    await ro;
    return out;
  } finally {
    await killer.close();
  }
}

export const fenceServer: StepRunner<"fence"> = async (ctx, step) => {
  const [ro] = await ctx.db.rows(sql.SELECT_READ_ONLY);
  const [semi] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_ENABLED);
  const previous = {
    readOnly: ro ? flag(ro, "read_only") : false,
    master: semi ? flag(semi, "master") : false,
  };
  const killed: Killed = [];
  let rounds = 0;
  if (!previous.readOnly) {
    if (step.kill === "none") await ctx.db.run(sql.setReadOnly(true));
    else {
      const r = await readOnlyKilling(ctx, includePrivileged(step.kill));
      killed.push(...r.killed);
      rounds += r.rounds;
    }
  }
  if (step.kill !== "none") {
    killed.push(...(await killClientConnections(ctx, ctx.db, includePrivileged(step.kill))).killed);
    rounds += 1;
  }
  // Strict durability keeps it: a write after the fence then waits for an ack for ever.
  const semiOff = previous.master && step.semiSync !== "keep";
  if (semiOff) await ctx.db.run(sql.setSemiSync("master", false));
  const unique = [...new Map(killed.map((k) => [k.id, k])).values()];
  ctx.log.info({ killed: unique.length, rounds, previous }, "fenced");
  return {
    readOnly: true,
    previous,
    changed: !previous.readOnly || semiOff,
    killed: unique,
    killRounds: rounds,
  };
};
