// The executor's start-up privilege check: its account's grants on every server of every
// cluster it serves, against EXECUTOR_NEEDS (what its step kinds run, measured on 10.11).
// A warning per server names each missing privilege and the step that needs it; a server
// down at start is noted and skipped. It runs beside the start, never in its way.
import {
  BINLOG_SAVE_NEEDS,
  checkPrivileges,
  EXECUTOR_NEEDS,
  type PrivilegeCheckResult,
  type PrivilegeNeed,
  readGrants,
} from "@marina/mariadb";
import type { Logger } from "@marina/runtime";
import type { Connector } from "./db.js";
import type { ExecutorOptions } from "./handler.js";
import { dbTargetOf, type ResolvedCluster } from "./targets.js";

export interface PrivilegeCheckDeps {
  readonly clusters: ReadonlyMap<string, ResolvedCluster>;
  readonly connect: Connector;
  readonly options: ExecutorOptions;
  readonly log: Logger;
}

/**
 * Reads the admin account's grants on each server once and logs what is missing; where the
 * cluster saves diverged servers' binlogs (saveBinlogs), BINLOG_SAVE_NEEDS too.
 */
export async function checkExecutorPrivileges(
  deps: PrivilegeCheckDeps,
): Promise<PrivilegeCheckResult[]> {
  const all = [...deps.clusters.values()];
  const plain = all.filter((c) => !c.saveBinlogs);
  const saving = all.filter((c) => c.saveBinlogs);
  const results = await Promise.all([
    check(deps, plain, EXECUTOR_NEEDS),
    check(deps, saving, [...EXECUTOR_NEEDS, ...BINLOG_SAVE_NEEDS]),
  ]);
  return results.flat();
}

function check(
  deps: PrivilegeCheckDeps,
  clusters: readonly ResolvedCluster[],
  needs: readonly PrivilegeNeed[],
): Promise<PrivilegeCheckResult[]> {
  if (clusters.length === 0) return Promise.resolve([]);
  const { connect, options, log } = deps;
  const targets = clusters.flatMap((c) =>
    [...c.servers.values()].map((s) => ({
      server: s.name,
      labels: { cluster: c.name },
      user: c.admin.user,
      read: async () => {
        const session = await connect(dbTargetOf(c, s), options, log);
        try {
          return await readGrants((sql) => session.rows(sql));
        } finally {
          await session.close();
        }
      },
    })),
  );
  return checkPrivileges("executor", targets, needs, log);
}
