export { backupAcceptedReport, restoreAcceptedReport } from "./dry-run.js";
export {
  checkRestore,
  databasesOfFilter,
  primaryIn,
  type RestoreCluster,
  type RestoreInput,
  restoreAttach,
  restoreDatadir,
  wasRunning,
} from "./restore.js";
