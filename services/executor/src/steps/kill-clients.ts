import { type KillOptions, killClientConnections } from "@marina/mariadb";
import type { StepContext, StepRunner } from "./context.js";
import { marinaUsers } from "./inspect.js";

/**
 * What the executor spares when it kills clients (@marina/mariadb's fence kernel): Marina's
 * admin, replication and monitor accounts; privileged users only when asked.
 */
export function killOptions(ctx: StepContext, includePrivileged: boolean): KillOptions {
  return { protectedUsers: marinaUsers(ctx), includePrivileged };
}

/** Kills client connections once. */
export const killClients: StepRunner<"kill-clients"> = async (ctx, step) => {
  const round = await killClientConnections(ctx.db, killOptions(ctx, step.includePrivileged));
  ctx.log.info(
    { killed: round.killed.length, kept: round.kept.length },
    "killed client connections",
  );
  return round;
};
