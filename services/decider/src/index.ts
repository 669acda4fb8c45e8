// Public entry of @marina/decider: start a decider in-process, or build it over your own
// bus and KV (tests).
export {
  type AppDeps,
  buildApp as buildDeciderApp,
  DEFAULT_HANDOVER_BACKOFF_MS,
  DEFAULT_HANDOVER_STABLE_MS,
  DEFAULT_LEASE_TTL_MS,
  type DeciderApp,
  type SharingOptions,
} from "./app.js";
export {
  assignClusters,
  type DeciderView,
  preferredOwner,
  rendezvousWeight,
} from "./assignment.js";
export type { Bus, BusMsg, BusSubscription } from "./bus.js";
export type { Clock } from "./clock.js";
export {
  ClusterRunner,
  type DecisionStore,
  type LeaderView,
  type RecordedInput,
} from "./cluster-runner.js";
export {
  FORMATS,
  type Formats,
  OLDEST_FORMATS,
  stateWriteFormat,
  UnsupportedFormatError,
} from "./formats.js";
export { buildHttpApi, type HttpApi, type HttpApiDeps } from "./http/app.js";
export type { CommandSubmitter, Published, PublishedReader } from "./http/deps.js";
export type { DeciderBuckets, KvBucket, PresenceBucket } from "./kv.js";
export { Lease, type LeaseRecord, readLease } from "./lease.js";
export { type ClusterView, DeciderMetrics, OPERATION_BUCKETS } from "./metrics.js";
export { natsBus } from "./nats-bus.js";
export { type DeciderPresence, PresenceRecord, presenceKey } from "./presence.js";
export { migratePresence, parsePresence } from "./presence-record.js";
export type { ClusterSharing } from "./sharing.js";
/** Former names of startDecider and its options, kept for existing callers. */
export {
  type RunningDecider,
  type StartDeciderOptions,
  type StartDeciderOptions as DeciderOptions,
  startDecider,
  startDecider as buildApp,
} from "./start.js";
export {
  convertState,
  decodeState,
  encodeState,
  STATE_DOWNGRADES,
  STATE_MIGRATIONS,
  type StateWriter,
} from "./state-format.js";
export { mergeOnTakeover, StateStore, type StateStoreOptions } from "./store.js";
