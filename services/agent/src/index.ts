export { type AgentApp, type AppDeps, buildApp, type Clock } from "./app.js";
export { type Bus, natsBus } from "./bus.js";
export {
  AgentConfig,
  type AgentServerConfig,
  loadAgentConfig,
  parseAgentConfig,
} from "./config.js";
export { emptyDatadir, guardDatadir, readRebuildMarker } from "./host/datadir.js";
export {
  configuredControl,
  processControl,
  type ServerStatus,
  type ServiceControl,
  type ServiceControlFactory,
  systemdControl,
} from "./host/service-control.js";
export * from "./messages.js";
export { type RunningAgent, type StartAgentOptions, startAgent } from "./start.js";
