export { backupAcceptedReport, restoreAcceptedReport } from "./dry-run.js";
export {
  backupsPrunedEvent,
  type PruneAction,
  pruneAcceptedReport,
  pruneSummary,
} from "./prune.js";
export {
  checkRestore,
  databasesOfFilter,
  primaryIn,
  type Repoint,
  type RestoreCluster,
  type RestoreInput,
  repointPlan,
  restoreAttach,
  restoreDatadir,
  wasRunning,
} from "./restore.js";
