// Public entry of @marina/monitor: start a monitor in-process, or use its pure parts.
export { type AppDeps, type Bus, buildApp, type MonitorApp, sourceOf } from "./app.js";
export { classifyError, type ProbeError } from "./classify.js";
export { type Connector, type DbConnection, type DbTarget, mariadbConnector } from "./db.js";
export { createLogger } from "./log.js";
export { MonitorMetrics } from "./metrics.js";
export { connectNatsWithRetry } from "./nats.js";
export { type ProbeRows, splitProbeResult, toObservation } from "./observation.js";
export { type Clock, monotonicClock, ServerProber } from "./prober.js";
export { updateQuiet } from "./quiet.js";
export { nextSample } from "./sample.js";
export { type MonitorHandle, type StartMonitorOptions, startMonitor } from "./start.js";
export {
  defaultHealthStream,
  ensureHealthStream,
  HEALTH_STREAM,
  HEALTH_STREAM_SUBJECTS,
  type HealthStreamOptions,
} from "./stream.js";
export { deriveTopology, linkState, resolveSource, sameTopology } from "./topology.js";
