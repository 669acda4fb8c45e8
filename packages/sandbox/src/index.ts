export { formatObserved } from "./format.js";
export {
  configFromLab,
  connectAs,
  type LabConfigOptions,
  natsCredentialsOf,
} from "./lab-config.js";
export {
  clusterName,
  type MultiStack,
  type MultiStackOptions,
  SMALL_MYSQLD,
  startClusters,
} from "./multi-stack.js";
export { type Observed, type Observer, observe } from "./observer.js";
export {
  pollReadOnly,
  type ReadOnlyPoller,
  type ReadOnlySample,
} from "./scenarios/read-only-poller.js";
export {
  runThaw,
  type ThawTrialOptions,
  type ThawTrialResult,
  thawTrial,
} from "./scenarios/thaw.js";
export {
  type AgentBackup,
  backupAccount,
  type Decider,
  type SshAgentOptions,
  type Stack,
  type StackOptions,
  serviceMain,
  startStack,
} from "./stack.js";
export { type Ack, type CheckResult, checkTrial, type WriterRecord } from "./trials/checker.js";
export {
  DURABILITIES,
  type Durability,
  durabilityStack,
  STRICT_MYCNF,
} from "./trials/durability.js";
export {
  FAULT_KINDS,
  FAULTS,
  type FaultKind,
  type FaultSpec,
  faultDuration,
  seededRandom,
} from "./trials/fault-kinds.js";
export { type OldPrimaryFate, runTrial, type TrialResult, type TrialSpec } from "./trials/trial.js";
export {
  dashboardUrl,
  type RunningWriterStats,
  startWriterStats,
  type WriterStatsJson,
  type WriterStatsOptions,
} from "./writer-stats.js";
