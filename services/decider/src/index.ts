export { buildApp, type DeciderApp, type DeciderOptions } from "./app.js";
export { ClusterRunner, leaderCmdSubject, type RecordedInput } from "./cluster-runner.js";
export { LEASE_BUCKET, Lease, type LeaseRecord, readLease, STATE_BUCKET } from "./lease.js";
export { mergeOnTakeover, StateStore } from "./store.js";
