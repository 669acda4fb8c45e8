import {
  type KillRound,
  killClientConnections,
  readOnlyKilling,
  uniqueKilled,
} from "@marina/mariadb";
import { flag } from "../rows.js";
import * as sql from "../sql.js";
import type { StepRunner } from "./context.js";
import { killOptions } from "./kill-clients.js";

// Fencing a server that may be a primary, in the order @marina/mariadb's fence kernel
// explains (fence/kill-rounds.ts): read_only=1 while clients are killed round after round,
// one more round, and only then semi-sync master off — unless strict durability keeps it.

export const fenceServer: StepRunner<"fence"> = async (ctx, step) => {
  const [ro] = await ctx.db.rows(sql.SELECT_READ_ONLY);
  const [semi] = await ctx.db.rows(sql.SELECT_SEMI_SYNC_ENABLED);
  const previous = {
    readOnly: ro ? flag(ro, "read_only") : false,
    master: semi ? flag(semi, "master") : false,
  };
  const opts = killOptions(ctx, step.kill === "all");
  const killed: KillRound["killed"] = [];
  let rounds = 0;
  if (!previous.readOnly) {
    if (step.kill === "none") await ctx.db.run(sql.setReadOnly(true));
    else {
      const killer = await ctx.openSession();
      try {
        const r = await readOnlyKilling(ctx.db, killer, opts, (ms) => ctx.clock.sleep(ms));
        killed.push(...r.killed);
        rounds += r.rounds;
      } finally {
        await killer.close();
      }
    }
  }
  if (step.kill !== "none") {
    killed.push(...(await killClientConnections(ctx.db, opts)).killed);
    rounds += 1;
  }
  // Strict durability keeps it: a write after the fence then waits for an ack for ever.
  const semiOff = previous.master && step.semiSync !== "keep";
  if (semiOff) await ctx.db.run(sql.setSemiSync("master", false));
  const unique = uniqueKilled(killed);
  ctx.log.info({ killed: unique.length, rounds, previous }, "fenced");
  return {
    readOnly: true,
    previous,
    changed: !previous.readOnly || semiOff,
    killed: unique,
    killRounds: rounds,
  };
};
