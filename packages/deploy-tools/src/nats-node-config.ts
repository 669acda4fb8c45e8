// One node's nats-server config for a Marina installation: JetStream, the cluster routes
// and the users with their permissions (@marina/contracts). Every secret is a `$VARIABLE`
// that nats-server resolves from its environment, so the file holds none. Pure: text in,
// text out.
import { type NatsIdentity, renderAuthorization, renderNatsTls } from "@marina/contracts";
import { formatHostPort, type HostPort } from "./host-port.js";

/** The user other nodes' routes log in as. */
export const ROUTE_USER = "marina-route";
export const ROUTE_PASSWORD_VAR = "MARINA_NATS_ROUTE_PASSWORD";

/**
 * The variable that holds route `i` (0-based) as a whole URL: nats-server 2.9 sends a route
 * only the credentials inside its URL and cannot splice a variable into a string, so the
 * URL with the route password comes from the environment as one value.
 */
export const routeVar = (i: number): string => `MARINA_NATS_ROUTE_${i + 1}`;

export interface NatsNodeOptions {
  /** `server_name`: unique in the cluster. */
  readonly name: string;
  /** Client address: give each node its own address (docs/operations.md, `replicas: auto`). */
  readonly listen: HostPort;
  readonly clusterName: string;
  readonly clusterListen: HostPort;
  /** Every node's route address, this one's included (a node ignores its route to itself). */
  readonly routes: readonly HostPort[];
  readonly storeDir: string;
  /** HTTP monitoring (`/varz`, `/routez`, …); off when undefined. */
  readonly http?: HostPort | undefined;
  /** TLS for clients (required) and routes (verified); off when undefined. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string } | undefined;
  /** Comment lines put at the top (e.g. how the file was made). */
  readonly header?: readonly string[];
}

const q = (s: string) => JSON.stringify(s);

export function renderNatsNodeConfig(o: NatsNodeOptions, users: readonly NatsIdentity[]): string {
  const tls = (indent: string, verify: boolean) =>
    o.tls ? renderNatsTls(o.tls, indent, verify) : [];
  const lines = [
    ...(o.header ?? []).map((l) => `# ${l}`.trimEnd()),
    `server_name: ${q(o.name)}`,
    `listen: ${q(formatHostPort(o.listen))}`,
    ...(o.http ? [`http: ${q(formatHostPort(o.http))}`] : []),
    "# A frozen or cut-off client or route is dropped after about ping_interval x ping_max",
    '# (docs/operations.md, "Running on a NATS cluster").',
    `ping_interval: "2s"`,
    "ping_max: 2",
    "jetstream {",
    `  store_dir: ${q(o.storeDir)}`,
    "}",
    ...tls("", false),
    "cluster {",
    `  name: ${q(o.clusterName)}`,
    `  listen: ${q(formatHostPort(o.clusterListen))}`,
    ...tls("  ", true),
    `  authorization { user: ${q(ROUTE_USER)}, password: $${ROUTE_PASSWORD_VAR} }`,
    ...o.routes.map(
      (r, i) => `  # ${routeVar(i)}: nats-route://${ROUTE_USER}:…@${formatHostPort(r)}`,
    ),
    `  routes: [${o.routes.map((_, i) => `$${routeVar(i)}`).join(", ")}]`,
    "}",
  ];
  return `${lines.join("\n")}\n${renderAuthorization(users)}`;
}

/** The route URL that `routeVar(i)` must hold. */
export function routeUrl(route: HostPort, password: string): string {
  return `nats-route://${ROUTE_USER}:${encodeURIComponent(password)}@${formatHostPort(route)}`;
}
