// The executor's start-up privilege check: its account's grants on every server of every
// cluster it serves, against EXECUTOR_NEEDS (what its step kinds run, measured on 10.11).
// A warning per server names each missing privilege and the step that needs it; a server
// down at start is noted and skipped. It runs beside the start, never in its way.
import {
  checkPrivileges,
  EXECUTOR_NEEDS,
  type PrivilegeCheckResult,
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

/** Reads the admin account's grants on each server once and logs what is missing. */
export function checkExecutorPrivileges(deps: PrivilegeCheckDeps): Promise<PrivilegeCheckResult[]> {
  const { connect, options, log } = deps;
  const targets = [...deps.clusters.values()].flatMap((c) =>
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
  return checkPrivileges("executor", targets, EXECUTOR_NEEDS, log);
}
