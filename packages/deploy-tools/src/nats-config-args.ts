// marina-nats-config's command line (parsed by @marina/runtime's parseArgs).
import type { ParsedArgs } from "@marina/runtime";

export const NATS_CONFIG_ARGS = {
  program: "marina-nats-config",
  flags: {
    /** The Marina config: its clusters scope the services' permissions. */
    config: { kind: "text", required: true, example: "/etc/marina/marina.yaml" },
    /** This node's server_name. */
    name: { kind: "id", required: true, example: "nats1" },
    listen: { kind: "text", example: "10.0.0.11:4222" },
    "cluster-listen": { kind: "text", example: "10.0.0.11:6222" },
    "cluster-name": { kind: "id", example: "marina" },
    /** Every node's route address, this node's included; the same list on every node. */
    route: { kind: "text", required: true, repeatable: true, example: "10.0.0.11:6222" },
    "store-dir": { kind: "text", example: "/var/lib/nats/jetstream" },
    /** Agent hosts (default: every agentHost of the config's servers). */
    agent: { kind: "id", repeatable: true, example: "db1" },
    http: { kind: "text", example: "127.0.0.1:8222" },
    /**
     * TLS (all three or none): clients must use TLS, routes use it with the peer's
     * certificate verified (the certificate needs serverAuth and clientAuth usage).
     */
    "tls-cert": { kind: "text", example: "/etc/nats/tls/server.pem" },
    "tls-key": { kind: "text", example: "/etc/nats/tls/server.key" },
    "tls-ca": { kind: "text", example: "/etc/nats/tls/ca.pem" },
    /** Also write a new env file with fresh passwords (refused if it exists). */
    "env-out": { kind: "text", example: "/etc/marina/nats-server.env" },
  },
} as const;

export type NatsConfigArgs = ParsedArgs<(typeof NATS_CONFIG_ARGS)["flags"]>;

export const NATS_CONFIG_DEFAULTS = {
  listen: "0.0.0.0:4222",
  clusterListen: "0.0.0.0:6222",
  clusterName: "marina",
  storeDir: "/var/lib/nats/jetstream",
} as const;
