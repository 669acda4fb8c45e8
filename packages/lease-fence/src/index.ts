export { type FenceVerdict, judge, LEASE_REFUSALS, LeaseFence } from "./fence.js";
export { type KvLeaseOptions, kvLeaseSource, type LeaseLog } from "./kv-lease-source.js";
export {
  encodeLeaseRecord,
  LEASE_BUCKET,
  LEASE_FORMAT,
  LEASE_PLACEHOLDER,
  type LeaseFields,
  LeaseRecord,
  leaseFormatOf,
  migrateLease,
  parseLeaseRecord,
} from "./lease-record.js";
export { type LeaseSource, type LeaseView, StaticLeaseSource } from "./lease-source.js";
export { deleteLease, writeLease } from "./write-lease.js";
export { settledForReads, YOUNG_STREAM_WAIT_MS } from "./young-stream.js";
