export {
  checkProvision,
  databasesOf,
  type ProvisionCheckInput,
  type ProvisionProblem,
  type ProvisionSource,
  SYSTEM_SCHEMAS,
} from "./checks.js";
export { provisionAcceptedReport, provisionRefusedReport } from "./dry-run.js";
export {
  connectionFor,
  type ProvisionCall,
  type ProvisionPhase,
  type ProvisionPlanInput,
  type ProvisionPlanSource,
  type ProvisionStep,
  provisionAttach,
  provisionCopy,
  provisionPrepare,
} from "./plan.js";
export {
  ownDomains,
  provisionedSlavePos,
  restrictToDomains,
  type SourcePosition,
} from "./positions.js";
