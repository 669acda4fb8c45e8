import type { ExecStep, SqlStepKind } from "@marina/contracts";
import { changeMaster } from "./change-master.js";
import { compareTables } from "./compare-tables.js";
import type { StepContext, StepData, StepRunner } from "./context.js";
import { drainRelayLog } from "./drain-relay-log.js";
import { dropDatabases } from "./drop-databases.js";
import { fenceServer } from "./fence-server.js";
import { flashback } from "./flashback.js";
import { inspect } from "./inspect.js";
import { killClients } from "./kill-clients.js";
import { REPLACE_GTID_DOMAINS_TIMEOUT_MS, replaceGtidDomains } from "./replace-gtid-domains.js";
import { resetReplication } from "./reset-replication.js";
import { saveBinlogs } from "./save-binlogs.js";
import { setGtidSlavePos } from "./set-gtid-slave-pos.js";
import { setReadOnly } from "./set-read-only.js";
import { setReplicationFilter } from "./set-replication-filter.js";
import { setSemiSync } from "./set-semi-sync.js";
import { startReplication } from "./start-replication.js";
import { stopReplication } from "./stop-replication.js";
import { verifyReplicating } from "./verify-replicating.js";
import { waitBinlogStable } from "./wait-binlog-stable.js";
import { waitGtid } from "./wait-gtid.js";

export type { StepContext, StepData } from "./context.js";
export { StepError } from "./context.js";

/**
 * One runner per SQL step kind; the mapped type makes a missing kind a compile error. The
 * steps that touch no server (run-hook, ask-veto) are in hooks/host-steps.ts.
 */
export const stepRunners: { readonly [K in SqlStepKind]: StepRunner<K> } = {
  inspect,
  "set-read-only": setReadOnly,
  fence: fenceServer,
  "kill-clients": killClients,
  "stop-replication": stopReplication,
  "reset-replication": resetReplication,
  "change-master": changeMaster,
  "start-replication": startReplication,
  "set-gtid-slave-pos": setGtidSlavePos,
  "wait-gtid": waitGtid,
  "drain-relay-log": drainRelayLog,
  "set-semi-sync": setSemiSync,
  "wait-binlog-stable": waitBinlogStable,
  "verify-replicating": verifyReplicating,
  "save-binlogs": saveBinlogs,
  flashback,
  "compare-tables": compareTables,
  "set-replication-filter": setReplicationFilter,
  "replace-gtid-domains": replaceGtidDomains,
  "drop-databases": dropDatabases,
};

export function runStep(
  ctx: StepContext,
  step: Extract<ExecStep, { kind: SqlStepKind }>,
): Promise<StepData> {
  // The table is keyed by kind, so the runner fetched for step.kind accepts this step.
  const run = stepRunners[step.kind] as StepRunner<SqlStepKind>;
  return run(ctx, step as never);
}

/** Steps that hold a query open while the server waits get a socketTimeout beyond the wait. */
export function socketTimeoutFor(step: ExecStep, baseMs: number): number {
  switch (step.kind) {
    case "wait-gtid":
    case "drain-relay-log":
    case "compare-tables":
      return step.timeoutMs + baseMs;
    case "replace-gtid-domains":
      return (step.timeoutMs ?? REPLACE_GTID_DOMAINS_TIMEOUT_MS) + baseMs;
    default:
      return baseMs;
  }
}
