export { LAB_BACKEND_ENV, LabBackend, labBackendFromEnv } from "./backend.js";
export { type Connection, type ConnectSpec, closeQuietly, openConnection } from "./connection.js";
export { connectionHelp } from "./connection-help.js";
export {
  DEFAULT_MARIADB_IMAGE,
  DEFAULT_NATS_IMAGE,
  type LabImages,
  labImages,
  MARIADB_IMAGE_ENV,
  NATS_IMAGE_ENV,
} from "./containers/images.js";
export {
  type Account,
  type CredentialOverrides,
  DEFAULT_CREDENTIALS,
  type LabCredentials,
  type LabUser,
} from "./credentials.js";
export { checksumTables, countRows, type WriteRowsOptions, writeRows } from "./data.js";
export { describeError, LabError, LabErrorCode } from "./errors.js";
export { cleanupSync } from "./exit-guard.js";
export {
  formatGtidList,
  type GtidEntry,
  type GtidPosition,
  gtidContains,
  mergeGtidLists,
  parseGtidList,
} from "./gtid.js";
export {
  type AddNodeOptions,
  type Lab,
  type LabInfo,
  type LabOptions,
  type NodeInfo,
  startLab,
} from "./lab.js";
export { findLabProcesses, killProcesses, type LabProcess } from "./leftovers.js";
export {
  MariaNode,
  type MariaNodeSpec,
  type NodeConnectOptions,
  type QueryOptions,
} from "./mariadb-node.js";
export { type CnfValue, type MyCnfSpec, renderMyCnf, serverSettings } from "./mycnf.js";
export {
  type LabNatsAuth,
  type LabNatsUsers,
  labAuthorization,
  labNatsUserName,
  makeLabNatsUsers,
  type NatsUser,
} from "./nats-auth.js";
export {
  createNatsCluster,
  NatsCluster,
  type NatsClusterSpec,
  type NatsNodeSpec,
  startNatsCluster,
} from "./nats-cluster.js";
export { checkJetStream, type NatsServerInfo, readNatsInfo } from "./nats-probe.js";
export {
  type NatsClusterMembership,
  NatsServer,
  type NatsServerSpec,
  type NatsStartOptions,
  startNats,
} from "./nats-server.js";
export {
  createNetwork,
  type LabHost,
  type LabNetwork,
  type NetworkOptions,
  type Partition,
  type Peer,
  type Side,
} from "./netns.js";
export { NETNS_TAG, netnsExec, SUBNET_PREFIX } from "./netns-names.js";
export type { HolderRecord } from "./netns-reservation.js";
export { type SweepOptions, type SweptNetwork, sweepStaleNetworks } from "./netns-sweep.js";
export { PartitionAt, ROOT } from "./partition.js";
export { freePort, freePorts } from "./ports.js";
export {
  type ConvergenceOptions,
  describePositions,
  type GtidPositions,
  gtidOf,
  waitForConvergence,
} from "./positions.js";
export { type ExitInfo, pdeathsigSupported } from "./process.js";
export {
  type ChangeMasterOptions,
  changeMaster,
  enableSemiSyncMaster,
  type ReplicaConnectionStatus,
  replicaStatus,
  type SemiSyncStatus,
  semiSyncStatus,
  waitForReplicating,
} from "./replication.js";
export {
  jsonLines,
  runServiceMain,
  type ServiceRun,
  type ServiceRunOptions,
  stopServiceRun,
} from "./service-process.js";
export { startSshd, type TestSshd } from "./sshd.js";
export { LAB_DIR_MARKER, LAB_RUN_ENV, labDirPrefix, makeLabDir, removeTree } from "./temp-tree.js";
export { issueLabClientCertificate, type LabTls, makeLabTls } from "./tls.js";
export {
  isLabShape,
  LAB_SHAPES,
  LabShape,
  type NodePlan,
  type NodeRole,
  planTopology,
  type ReplicationSource,
} from "./topology-plan.js";
export { sleep, type WaitOptions, waitFor } from "./wait.js";
export {
  formatPositions,
  type NodeSnapshot,
  type PositionWatcher,
  snapshotNode,
  watchPositions,
} from "./watch.js";
export {
  findMissingIds,
  startWriter,
  type WriteFailure,
  type Writer,
  type WriterOptions,
  type WriterReport,
  type WriterTarget,
} from "./writer.js";
