// @marina/deploy-tools: what an installation needs beyond the services — the nats-server
// config of a Marina NATS cluster (users, permissions, routes), rendered from the Marina
// config by `marina-nats-config`.
export { formatHostPort, type HostPort, parseHostPort } from "./host-port.js";
export {
  NATS_CONFIG_ARGS,
  NATS_CONFIG_DEFAULTS,
  type NatsConfigArgs,
} from "./nats-config-args.js";
export { type NatsConfigOutput, planNatsConfig } from "./nats-config-plan.js";
export { renderNatsEnv } from "./nats-env.js";
export {
  agentHostsOf,
  identitiesOf,
  type NatsUserPlan,
  natsUserName,
  passwordVar,
  planUsers,
  SHARED_ROLES,
} from "./nats-identities.js";
export {
  type NatsNodeOptions,
  ROUTE_PASSWORD_VAR,
  ROUTE_USER,
  renderNatsNodeConfig,
  routeUrl,
  routeVar,
} from "./nats-node-config.js";
export { isNatsSafeSecret, natsSecret } from "./nats-secret.js";
