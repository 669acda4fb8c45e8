export { type AgentApp, type AppDeps, buildApp, type Clock } from "./app.js";
export { type Bus, natsBus } from "./bus.js";
export {
  AgentConfig,
  type AgentServerConfig,
  type AgentSshConfig,
  loadAgentConfig,
  parseAgentConfig,
} from "./config.js";
export type { HostBackend, RunningStream, StreamStage } from "./host/backend.js";
export { emptyDatadir, guardDatadir, readRebuildMarker } from "./host/datadir.js";
export { localBackend } from "./host/local-backend.js";
export {
  configuredControl,
  killServer,
  processControl,
  type ServerStatus,
  type ServiceControl,
  type ServiceControlFactory,
  systemdControl,
} from "./host/service-control.js";
export { sshBackend } from "./host/ssh-backend.js";
export { remotePipelineScript } from "./host/ssh-stream.js";
export * from "./messages.js";
export { AgentMetrics } from "./metrics.js";
export { type RunningAgent, type StartAgentOptions, startAgent } from "./start.js";
