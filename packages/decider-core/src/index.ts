export {
  type CandidateChoice,
  type CandidateInput,
  type ConnectionLike,
  chooseCandidate,
  type ObservationLike,
  type Pull,
} from "./candidates.js";
export {
  BlockCodes,
  checkFailoverConstraints,
  type FailoverBlock,
  failoversInWindow,
} from "./constraints.js";
export { decide } from "./decide.js";
export { type Diagnosis, diagnose, errantGtids, type Finding } from "./diagnose.js";
export { chooseDonor, flaggedDiverged } from "./donors.js";
export {
  assessPrimary,
  type PrimaryAssessment,
  type PrimaryVerdict,
  PrimaryVerdicts,
} from "./evidence.js";
export { type InspectView, readInspect } from "./inspect.js";
export { describeStep } from "./operation.js";
export { type DeciderOptions, defaultOptions, freshMs } from "./options.js";
export { PULL_CONNECTION } from "./plans/failover.js";
export {
  checkRebuild,
  defaultRebuildOptions,
  type RebuildCheck,
  type RebuildOptions,
  type RebuildRequest,
} from "./plans/rebuild.js";
export { checkRejoin, historyOf, type RejoinCheck, rejoinPositionOf } from "./plans/rejoin.js";
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
  upgradeState,
} from "./state.js";
export { summarizeAction } from "./summary.js";
export { attachedServers, buildTopology, learnPrimary, topologyKey } from "./topology.js";
export type { Action, Ctx, DecideResult, Input } from "./types.js";
export { ActionKinds, InputKinds } from "./types.js";
