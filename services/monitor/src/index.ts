// Public entry of @marina/monitor: start a monitor in-process, or use its pure parts.
export { type AppDeps, type Bus, buildApp, type MonitorApp, sourceOf } from "./app.js";
export { parseClusterList, selectClusters } from "./clusters.js";
export { MonitorMetrics } from "./metrics.js";
export { type Clock, ServerProber } from "./prober.js";
export { progressOf, updateQuiet } from "./quiet.js";
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
