// The environment file of nats-server.service: a fresh random password for every user of
// the rendered config, and the route URLs carrying the route password. The same file goes
// to every NATS node; the services' env files get their own user's line.
import type { HostPort } from "./host-port.js";
import type { NatsUserPlan } from "./nats-identities.js";
import { ROUTE_PASSWORD_VAR, routeUrl, routeVar } from "./nats-node-config.js";

/** `secret()` makes one password (natsSecret: read by nats-server as a string, URL-safe). */
export function renderNatsEnv(
  users: readonly NatsUserPlan[],
  routes: readonly HostPort[],
  secret: () => string,
): string {
  const routePassword = secret();
  const lines = [
    "# nats-server.env: passwords of the users in nats-server.conf (made by marina-nats-config",
    "# --env-out). The same file on every NATS node, mode 0600, root's (EnvironmentFile of",
    "# nats-server.service). Copy each service's line into its own env file: marina.env",
    "# (monitor, decider, executor), agent.env (MARINA_NATS_PASSWORD = its host's line).",
    ...users.map((u) => `${u.passwordVar}=${secret()}`),
    `${ROUTE_PASSWORD_VAR}=${routePassword}`,
    ...routes.map((r, i) => `${routeVar(i)}=${routeUrl(r, routePassword)}`),
  ];
  return `${lines.join("\n")}\n`;
}
