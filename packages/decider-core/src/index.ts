export {
  type AcknowledgerInput,
  type AcknowledgerVerdict,
  acknowledgersSettled,
} from "./acknowledgers.js";
export * from "./backup/index.js";
export {
  type CandidateChoice,
  type CandidateInput,
  type ConnectionLike,
  chooseCandidate,
  type ObservationLike,
  type Pull,
} from "./candidates.js";
export { decide } from "./decide.js";
export type { Diagnosis, Finding } from "./diagnose/findings.js";
export { errantGtids } from "./diagnose/replicas.js";
export { diagnose } from "./diagnose.js";
export { chooseDonor, flaggedDiverged } from "./donors.js";
export {
  assessPrimary,
  type PrimaryAssessment,
  type PrimaryVerdict,
  PrimaryVerdicts,
} from "./evidence.js";
export { type InspectView, readInspect } from "./inspect.js";
export { type DeciderOptions, defaultOptions, freshMs } from "./options.js";
export { PULL_CONNECTION } from "./plans/failover-phases.js";
export { checkRebuild, type RebuildCheck, type RebuildRequest } from "./plans/rebuild-check.js";
export { defaultRebuildOptions, type RebuildOptions } from "./plans/rebuild-plan.js";
export { checkRejoin, historyOf, type RejoinCheck, rejoinPositionOf } from "./plans/rejoin.js";
export {
  BlockCodes,
  checkFailoverConstraints,
  type FailoverBlock,
  failoversInWindow,
} from "./policies/constraints.js";
export * from "./provision/index.js";
export { CLUSTER as CLUSTER_SUBJECT, situationOfTag } from "./situations.js";
export {
  type AgentCall,
  type AgentCallStatus,
  cloneState,
  type DeciderState,
  initialState,
  type Operation,
  type OperationSummary,
  type OpStep,
  type Plan,
  type RebuildPlan,
  STATE_FORMAT,
  upgradeState,
} from "./state.js";
export { describeStep } from "./steps.js";
export { summarizeAction } from "./summary.js";
export { attachedServers, buildTopology, learnPrimary, topologyKey } from "./topology.js";
export type { Action, Ctx, DecideResult, Input } from "./types.js";
export { ActionKinds, InputKinds } from "./types.js";
