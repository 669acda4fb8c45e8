// @marina/runtime: what every service main needs, one way each — logger, arguments, exit
// codes, graceful shutdown, the first NATS connection, the replicas of JetStream
// resources, the clock, Prometheus metrics and their HTTP endpoint.
export {
  type ArgsSpec,
  defaultId,
  type FlagKind,
  type FlagSpec,
  type FlagSpecs,
  type ParsedArgs,
  parseArgs,
  SERVICE_FLAGS,
  usage,
} from "./args.js";
export { type BackoffSettings, backoffDelay } from "./backoff.js";
export { type Clock, sleep, systemClock } from "./clock.js";
export { EXIT_CODES, isBadConfig, type ProcessLike, runMain } from "./exit.js";
export { jetStreamNotReady, untilJetStreamReady } from "./jetstream-ready.js";
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  type LogRecord,
  memoryLogger,
  REDACT_PATHS,
  REDACTED,
} from "./logger.js";
export {
  buildMetricsServer,
  Counter,
  Gauge,
  type HealthReport,
  Histogram,
  type HttpAddress,
  listenHttp,
  metricsRegistry,
  Registry,
  type RegistryOptions,
  type ServiceHttp,
  serveMetrics,
  serveServiceHttp,
} from "./metrics.js";
export {
  connectNatsWithRetry,
  leastRecentlyDialled,
  NATS_CONNECT_TIMEOUT_MS,
  NATS_MAX_PINGS_OUT,
  NATS_PING_INTERVAL_MS,
  NATS_RECONNECT_WAIT_MS,
  NATS_RETRY,
  NATS_SILENT_SERVER_MS,
  NatsAborted,
  type NatsConnectOptions,
  type NatsCredentials,
  type NatsSettings,
  natsCredentials,
  natsServers,
  watchNatsStatus,
} from "./nats.js";
export {
  type ClusterInfo,
  natsClusterSize,
  natsReplicas,
  replicasChange,
} from "./replicas.js";
export {
  DEFAULT_GRACE_MS,
  handleShutdown,
  type Shutdown,
  type ShutdownOptions,
} from "./shutdown.js";
export {
  type EnsureResult,
  type EnsureStreamOptions,
  ensureStream,
  type StreamSpec,
  scaleStream,
} from "./streams.js";
export { readTlsFiles, type TlsFiles } from "./tls-files.js";
