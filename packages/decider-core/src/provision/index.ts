export {
  checkAddSource,
  checkRemoveSource,
  filteredDatabases,
  type RemoveCheck,
  type SourceChangeInput,
  takenDomains,
} from "./change-checks.js";
export {
  checkProvision,
  databasesOf,
  type ProvisionCheckInput,
  type ProvisionProblem,
  type ProvisionSource,
  SYSTEM_SCHEMAS,
} from "./checks.js";
export {
  addSourceReport,
  provisionAcceptedReport,
  provisionRefusedReport,
  removeSourceReport,
  restartSourceReport,
} from "./dry-run.js";
export {
  addSourceAttach,
  connectionFor,
  type ProvisionCall,
  type ProvisionPhase,
  type ProvisionPlanInput,
  type ProvisionPlanSource,
  type ProvisionStep,
  persistFiltersCall,
  provisionAttach,
  provisionCopy,
  provisionPrepare,
  type RemoveSourcePlanInput,
  removeSourceDetach,
  restartSourcePhase,
} from "./plan.js";
export {
  addedSourceDomains,
  ownDomains,
  provisionedSlavePos,
  restrictToDomains,
  type SourcePosition,
} from "./positions.js";
