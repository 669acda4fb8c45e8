// The files an operator would edit after install.sh, written for a lab: the Marina config
// and one agent serving the lab's three servers (they share this machine), every secret
// named by an environment variable as in deploy/*.example.yaml.
import type { Lab, MariaNode } from "@marina/lab";

export const AGENT_HOST = "lab-host";

export function marinaConfigFor(lab: Lab, natsUrls: readonly string[]): object {
  const creds = lab.credentials;
  return {
    nats: {
      servers: natsUrls,
      credentials: Object.fromEntries(
        ["monitor", "decider", "executor"].map((r) => [
          r,
          { user: `marina-${r}`, password: { env: `MARINA_NATS_${r.toUpperCase()}_PASSWORD` } },
        ]),
      ),
    },
    clusters: [
      {
        name: "main",
        servers: lab.nodes.map((n: MariaNode) => ({
          name: n.name,
          host: n.host,
          port: n.port,
          agentHost: AGENT_HOST,
        })),
        admin: { user: creds.marina.user, password: { env: "MARINA_ADMIN_PASSWORD" } },
        replication: { user: creds.repl.user, password: { env: "MARINA_REPL_PASSWORD" } },
        semiSync: true,
      },
    ],
  };
}

export function agentConfigFor(lab: Lab, natsUrls: readonly string[], tmpDir: string): object {
  return {
    host: AGENT_HOST,
    nats: {
      servers: natsUrls,
      user: `marina-agent-${AGENT_HOST}`,
      password: { env: "MARINA_NATS_PASSWORD" },
    },
    advertiseAddress: "127.0.0.1",
    listenAddress: "127.0.0.1",
    backup: { user: lab.credentials.marina.user, password: { env: "MARINA_BACKUP_PASSWORD" } },
    tmpDir,
    // the lab runs mariadbd as root
    servers: lab.nodes.map((n: MariaNode) => ({
      name: n.name,
      cluster: "main",
      datadir: n.datadir,
      defaultsFile: n.defaultsFile,
      socket: n.socket,
      port: n.port,
      osUser: "root",
      osGroup: "root",
    })),
  };
}

/** marina.env and agent.env as an operator fills them in from nats-server.env. */
export function envFilesFor(
  lab: Lab,
  natsEnv: Readonly<Record<string, string>>,
): { marina: string; agent: string } {
  const creds = lab.credentials;
  const marina = [
    `MARINA_ADMIN_PASSWORD=${creds.marina.password}`,
    `MARINA_REPL_PASSWORD=${creds.repl.password}`,
    ...["MONITOR", "DECIDER", "EXECUTOR"].map(
      (r) => `MARINA_NATS_${r}_PASSWORD=${natsEnv[`MARINA_NATS_${r}_PASSWORD`]}`,
    ),
  ];
  const agent = [
    `MARINA_NATS_PASSWORD=${natsEnv.MARINA_NATS_AGENT_LAB_HOST_PASSWORD}`,
    `MARINA_BACKUP_PASSWORD=${creds.marina.password}`,
  ];
  return { marina: `${marina.join("\n")}\n`, agent: `${agent.join("\n")}\n` };
}
