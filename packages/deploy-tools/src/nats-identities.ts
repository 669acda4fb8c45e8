// The NATS users of a Marina installation, derived from its config: one per service role,
// scoped to the config's clusters, and one per agent host, scoped to that host. Each
// password is an environment variable's name: the nats-server config refers to it as
// `$VAR`, the services' env files hold the value.
import {
  type MarinaConfig,
  MarinaError,
  type NatsIdentity,
  type NatsRole,
  natsPermissions,
} from "@marina/contracts";

/** The roles with one user for the whole installation (agents have one per host). */
export const SHARED_ROLES = [
  "monitor",
  "decider",
  "executor",
  "operator",
  "observer",
  "veto-responder",
] as const;

export interface NatsUserPlan {
  readonly role: NatsRole;
  readonly user: string;
  /** The environment variable that holds the password. */
  readonly passwordVar: string;
  /** The agent host this user serves (agents only). */
  readonly host?: string;
}

export const natsUserName = (role: NatsRole, host?: string): string =>
  host === undefined ? `marina-${role}` : `marina-${role}-${host}`;

/** `MARINA_NATS_<ROLE>_PASSWORD`, or `MARINA_NATS_AGENT_<HOST>_PASSWORD` for an agent. */
export function passwordVar(role: NatsRole, host?: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  return host === undefined
    ? `MARINA_NATS_${part(role)}_PASSWORD`
    : `MARINA_NATS_${part(role)}_${part(host)}_PASSWORD`;
}

/** The agent hosts the config's servers name (`agentHost`), in order of first mention. */
export function agentHostsOf(config: MarinaConfig): string[] {
  const hosts = config.clusters.flatMap((c) => c.servers.flatMap((s) => s.agentHost ?? []));
  return [...new Set(hosts)];
}

/** Every user: the shared roles, then one agent user per host. */
export function planUsers(agentHosts: readonly string[]): NatsUserPlan[] {
  const shared = SHARED_ROLES.map((role) => ({
    role,
    user: natsUserName(role),
    passwordVar: passwordVar(role),
  }));
  const agents = [...new Set(agentHosts)].map((host) => ({
    role: "agent" as const,
    host,
    user: natsUserName("agent", host),
    passwordVar: passwordVar("agent", host),
  }));
  // "db-1" and "db_1" would share a variable: refuse rather than give two hosts one password.
  const byVar = new Map<string, string>();
  for (const a of agents) {
    const other = byVar.get(a.passwordVar);
    if (other !== undefined) {
      throw new MarinaError(
        "VALIDATION_FAILED",
        `agent hosts "${other}" and "${a.host}" map to the same variable ${a.passwordVar}; rename one`,
        { path: "--agent" },
      );
    }
    byVar.set(a.passwordVar, a.host);
  }
  return [...shared, ...agents];
}

/**
 * The users as nats-server identities: passwords as `$VAR` references, permissions from
 * `natsPermissions` scoped to `clusters` (services) or to the agent's own host.
 */
export function identitiesOf(
  users: readonly NatsUserPlan[],
  clusters: readonly string[],
): NatsIdentity[] {
  return users.map((u) => ({
    user: u.user,
    password: `$${u.passwordVar}`,
    permissions: natsPermissions(u.role, u.host !== undefined ? { hosts: [u.host] } : { clusters }),
  }));
}
