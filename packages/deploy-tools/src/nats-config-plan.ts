// From marina-nats-config's parsed flags and the Marina config to what gets written: the
// node's config and, with --env-out, the env file. No I/O here (the secret maker is given).
import { HostName, type MarinaConfig, MarinaError } from "@marina/contracts";
import { parseHostPort } from "./host-port.js";
import { NATS_CONFIG_DEFAULTS, type NatsConfigArgs } from "./nats-config-args.js";
import { renderNatsEnv } from "./nats-env.js";
import { agentHostsOf, identitiesOf, planUsers } from "./nats-identities.js";
import { renderNatsNodeConfig } from "./nats-node-config.js";

export interface NatsConfigOutput {
  readonly config: string;
  /** The env file's text when --env-out was given. */
  readonly env?: string;
  /** Notes for stderr (e.g. no agent user). */
  readonly notes: readonly string[];
}

/** Words as a shell would need them: only plain ones go in unquoted. */
function shellWords(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

function absolutePath(text: string, flag: string): string {
  if (!text.startsWith("/") || /[\n\r"\\]/.test(text)) {
    throw new MarinaError("VALIDATION_FAILED", `--${flag} must be an absolute path`, {
      path: `--${flag}`,
    });
  }
  return text;
}

export function planNatsConfig(
  args: NatsConfigArgs,
  config: MarinaConfig,
  argv: readonly string[],
  secret: () => string,
): NatsConfigOutput {
  const notes: string[] = [];
  const routes = args.route.map((r) => parseHostPort(r, "route"));
  for (const h of args.agent) {
    // An agent host is a subject token (marina.v1.agent.<host>.*): no dots or wildcards.
    const r = HostName.safeParse(h);
    if (!r.success) {
      throw new MarinaError("VALIDATION_FAILED", `--agent "${h}": ${r.error.issues[0]!.message}`, {
        path: "--agent",
      });
    }
  }
  const hosts = args.agent.length > 0 ? args.agent : agentHostsOf(config);
  if (hosts.length === 0) {
    notes.push("no agent hosts (no --agent, no agentHost in the config): no agent users");
  }
  const users = planUsers(hosts);
  const tlsFlags = [args["tls-cert"], args["tls-key"], args["tls-ca"]];
  if (tlsFlags.some((f) => f !== undefined) && !tlsFlags.every((f) => f !== undefined)) {
    throw new MarinaError("VALIDATION_FAILED", "--tls-cert, --tls-key and --tls-ca go together", {
      path: "--tls-cert",
    });
  }
  const tls =
    args["tls-cert"] !== undefined && args["tls-key"] !== undefined && args["tls-ca"] !== undefined
      ? {
          cert: absolutePath(args["tls-cert"], "tls-cert"),
          key: absolutePath(args["tls-key"], "tls-key"),
          ca: absolutePath(args["tls-ca"], "tls-ca"),
        }
      : undefined;
  const text = renderNatsNodeConfig(
    {
      name: args.name,
      listen: parseHostPort(args.listen ?? NATS_CONFIG_DEFAULTS.listen, "listen"),
      clusterName: args["cluster-name"] ?? NATS_CONFIG_DEFAULTS.clusterName,
      clusterListen: parseHostPort(
        args["cluster-listen"] ?? NATS_CONFIG_DEFAULTS.clusterListen,
        "cluster-listen",
      ),
      routes,
      storeDir: absolutePath(args["store-dir"] ?? NATS_CONFIG_DEFAULTS.storeDir, "store-dir"),
      http: args.http !== undefined ? parseHostPort(args.http, "http") : undefined,
      tls,
      header: [
        `nats-server config of node ${args.name} for Marina. Made by:`,
        `  marina-nats-config ${shellWords(argv)}`,
        "Do not edit: make it again after adding a cluster or an agent host. Passwords are",
        "$VARIABLES nats-server reads from its environment (nats-server.env), never in this file.",
      ],
    },
    identitiesOf(
      users,
      config.clusters.map((c) => c.name),
    ),
  );
  return {
    config: text,
    ...(args["env-out"] !== undefined ? { env: renderNatsEnv(users, routes, secret) } : {}),
    notes,
  };
}
