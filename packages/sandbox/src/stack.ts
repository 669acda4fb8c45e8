// Marina's services running in-process (or as child processes) around a lab: what the
// sandbox demo, the end-to-end tests and the benchmarks use.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { AgentConfig, type RunningAgent, startAgent } from "@marina/agent";
import type { MarinaConfig, NatsRole } from "@marina/contracts";
import { buildApp as buildDecider, type DeciderApp, type DeciderOptions } from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import {
  type Lab,
  type LabOptions,
  type MariaNode,
  startLab,
  startSshd,
  type TestSshd,
} from "@marina/lab";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import { connectNatsWithRetry, natsCredentials } from "@marina/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { configFromLab, type LabConfigOptions } from "./lab-config.js";

export interface StackOptions {
  lab?: LabOptions;
  config?: LabConfigOptions;
  executors?: number;
  deciders?: number;
  monitor?: boolean;
  /** Serve the monitor's /metrics, /healthz, /status (config.http, else a free loopback port). */
  monitorHttp?: boolean;
  log?: Logger;
  leaseTtlMs?: number;
  /**
   * One host agent per lab node (host id `agent-<node>`, set as the server's agentHost),
   * in-process, stopping and starting the lab's own mariadbd: what rebuilds need.
   */
  agents?: boolean;
  /**
   * One agent in SSH mode (host id `agent-ssh`, set as these servers' agentHost) serving
   * the named servers through a loopback sshd the stack starts; with `agents`, the other
   * servers keep an agent of their own.
   */
  sshAgent?: {
    servers: readonly string[];
    /** Give the SSH agent a saveDir: `<lab dir>/saved-binlogs`. */
    saveBinlogs?: boolean;
    /** The SSH agent's backup account (see SshAgentOptions.backup). */
    backup?: AgentBackup;
  };
}

/**
 * An agent's backup account: "lab", the lab's least-privilege `marina_backup` (a physical
 * rebuild's donor and target, a logical rebuild's donor); "root" over the socket, for an
 * agent that must also be a logical rebuild's target (that needs ALL PRIVILEGES).
 */
export type AgentBackup = "lab" | "root";

export interface SshAgentOptions {
  /** Servers the SSH agent serves. */
  servers: readonly string[];
  cluster?: string;
  /** The agent's saveDir (on the servers' host, as every path of an SSH server is). */
  saveDir?: string;
  /** Host key fingerprint the agent pins (default: the sshd's own). */
  hostKeySha256?: string;
  /** Default "lab". */
  backup?: AgentBackup;
}

export interface Decider {
  id: string;
  app: DeciderApp;
  nc: NatsConnection;
}

export interface Stack {
  lab: Lab;
  config: MarinaConfig;
  /** A client connection for tests: requests, subscriptions. */
  nc: NatsConnection;
  monitor: MonitorHandle | undefined;
  executors: RunningExecutor[];
  deciders: Decider[];
  /** Host agents by server name (empty unless `agents` or `sshAgent`; the SSH agent under each of its servers). */
  agents: Map<string, RunningAgent>;
  /** The loopback sshd of `sshAgent`. */
  sshd: TestSshd | undefined;
  log: Logger;
  configFile: string;
  startDecider(id: string, extra?: Pick<DeciderOptions, "record">): Promise<Decider>;
  startExecutor(id: string): Promise<RunningExecutor>;
  /** A decider as its own OS process (for SIGSTOP / kill tests). */
  spawnDecider(id: string, extraArgs?: string[]): ChildProcess;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Path of a service's compiled main.js. */
export function serviceMain(
  pkg: "@marina/decider" | "@marina/monitor" | "@marina/executor",
): string {
  return join(require.resolve(pkg), "..", "main.js");
}

/** Host id of the agent that serves a lab node. */
export const agentHostOf = (server: string) => `agent-${server}`;

/** Host id of the stack's agent in SSH mode. */
export const SSH_AGENT_HOST = "agent-ssh";

/** The lab node's own start/stop: the agent drives the lab's process, not a copy of it. */
function labControl(node: MariaNode) {
  return () => ({
    start: () => node.start(),
    stop: async () => {
      await node.stop();
    },
    status: async () => ({ running: node.isRunning(), pid: node.pid ?? null }),
  });
}

/** A lab node as an agent's server entry (the lab runs mariadbd as root). */
function labServer(node: MariaNode, cluster: string) {
  return {
    name: node.name,
    cluster,
    datadir: node.datadir,
    defaultsFile: node.defaultsFile,
    socket: node.socket,
    port: node.port,
    osUser: "root",
    osGroup: "root",
  };
}

/**
 * Starts an agent on the lab's NATS with the lab's account, loopback addresses and short
 * timeouts, serving `servers`; stop and start go to the lab's own nodes.
 */
function startLabAgentFor(
  lab: Lab,
  log: Logger,
  host: string,
  nodes: readonly MariaNode[],
  config: { servers: object[]; saveDir?: string; backup?: AgentBackup | undefined },
): Promise<RunningAgent> {
  const tmpDir = join(lab.dir, `agent-tmp-${host}`);
  mkdirSync(tmpDir, { recursive: true });
  const { backup, ...rest } = config;
  const parsed = AgentConfig.parse({
    host,
    nats: {
      servers: [...lab.natsUrls],
      ...(lab.natsUsers
        ? { user: lab.natsUsers.agent.user, password: { value: lab.natsUsers.agent.password } }
        : {}),
      ...(lab.tls ? { tls: { ca: lab.tls.caFile } } : {}),
    },
    advertiseAddress: "127.0.0.1",
    listenAddress: "127.0.0.1",
    backup: backupAccount(lab, backup),
    tmpDir,
    ...rest,
    heartbeatMs: 1000,
    progressMs: 250,
    timeouts: { connectMs: 30_000, idleMs: 30_000, serviceMs: 60_000 },
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return startAgent({
    config: parsed,
    log: log.child({ agent: host }),
    serviceControl: (s) => labControl(byName.get(s.name)!)(),
  });
}

/** The `backup` section of a lab agent's config. */
export function backupAccount(lab: Lab, which: AgentBackup = "lab") {
  const a = which === "root" ? lab.credentials.root : lab.credentials.backup;
  return { user: a.user, ...(a.password !== "" ? { password: { value: a.password } } : {}) };
}

/** Starts the agent of one lab node (as `agents` does; for tests that restart one). */
export function startLabAgent(
  lab: Lab,
  node: MariaNode,
  log: Logger,
  cluster = "main",
): Promise<RunningAgent> {
  return startLabAgentFor(lab, log, agentHostOf(node.name), [node], {
    servers: [labServer(node, cluster)],
  });
}

/**
 * Starts one agent in SSH mode serving `o.servers` through `sshd` (logged in as root, so
 * sudo is off). Stop and start go to the lab, which owns mariadbd; everything else — the
 * datadir guard and emptying, the marker, the streams, prepare, chown, saveDir, SQL over a
 * forward to the socket — goes over SSH.
 */
export function startLabSshAgent(
  lab: Lab,
  sshd: TestSshd,
  log: Logger,
  o: SshAgentOptions,
): Promise<RunningAgent> {
  const nodes = o.servers.map((n) => lab.node(n));
  return startLabAgentFor(lab, log, SSH_AGENT_HOST, nodes, {
    ...(o.saveDir ? { saveDir: o.saveDir } : {}),
    backup: o.backup,
    servers: nodes.map((node) => ({
      ...labServer(node, o.cluster ?? "main"),
      ssh: {
        host: "127.0.0.1",
        port: sshd.port,
        user: "root",
        privateKeyFile: sshd.clientKeyPath,
        hostKeySha256: o.hostKeySha256 ?? sshd.hostKeyFingerprint,
        sudo: false,
        advertiseAddress: "127.0.0.1",
        tmpDir: join(lab.dir, `ssh-scratch-${node.name}`),
      },
    })),
  });
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const log = o.log ?? pino({ level: process.env.MARINA_LOG_LEVEL ?? "silent" });
  const lab = await startLab({ shape: "primary-replicas", nodes: 3, ...o.lab });
  const children: ChildProcess[] = [];
  const executors: RunningExecutor[] = [];
  const deciders: Decider[] = [];
  const agents = new Map<string, RunningAgent>();
  let monitor: MonitorHandle | undefined;
  let nc: NatsConnection | undefined;
  let sshd: TestSshd | undefined;
  const stopAgents = async () => {
    for (const a of new Set(agents.values())) await a.stop().catch(() => {});
    agents.clear();
    await sshd?.stop().catch(() => {});
  };
  try {
    const viaSsh = new Set(o.sshAgent?.servers ?? []);
    const local = o.agents ? lab.nodes.filter((n) => !viaSsh.has(n.name)) : [];
    const agentHosts =
      o.agents || o.sshAgent
        ? Object.fromEntries([
            ...local.map((n) => [n.name, agentHostOf(n.name)]),
            ...[...viaSsh].map((n) => [n, SSH_AGENT_HOST]),
          ])
        : undefined;
    const config = configFromLab(lab, {
      semiSync: o.lab?.semiSync ?? false,
      ...(agentHosts ? { agentHosts } : {}),
      ...o.config,
    });
    const configFile = join(lab.dir, "marina.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    // The services' connect (every server, reconnect for ever, pings): tests ride over the
    // loss of a NATS node as the services do.
    const natsFor = (name: string, role: NatsRole) =>
      connectNatsWithRetry({
        servers: config.nats.servers,
        name,
        log: log.child({ nats: name }),
        ...natsCredentials(config.nats, process.env, role),
      });
    // The tests' own client: the lab's unrestricted user.
    const labUser = lab.natsUsers?.lab;
    nc = await connectNatsWithRetry({
      servers: config.nats.servers,
      name: "marina-test-client",
      log: log.child({ nats: "marina-test-client" }),
      ...(labUser ? { user: labUser.user, pass: labUser.password } : {}),
      ...(lab.tls ? { tls: { ca: lab.tls.caPem } } : {}),
    });
    const client = nc;
    const stack: Stack = {
      lab,
      config,
      nc: client,
      monitor,
      executors,
      deciders,
      agents,
      sshd,
      log,
      configFile,
      async startDecider(id, extra = {}) {
        const dnc = await natsFor(id, "decider");
        const app = await buildDecider({
          config,
          id,
          nc: dnc,
          log: log.child({ decider: id }),
          ...(o.leaseTtlMs ? { leaseTtlMs: o.leaseTtlMs } : {}),
          ...extra,
        });
        const d = { id, app, nc: dnc };
        deciders.push(d);
        return d;
      },
      async startExecutor(id) {
        const e = await startExecutor({ config, id, log: log.child({ executor: id }) });
        executors.push(e);
        return e;
      },
      spawnDecider(id, extraArgs = []) {
        const child = spawn(
          process.execPath,
          [serviceMain("@marina/decider"), "--config", configFile, "--id", id, ...extraArgs],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        children.push(child);
        return child;
      },
      async close() {
        for (const c of children) {
          if (c.exitCode === null && c.signalCode === null) {
            c.kill("SIGCONT");
            c.kill("SIGKILL");
          }
        }
        for (const d of deciders) await d.app.close(false).catch(() => {});
        for (const d of deciders) await d.nc.close().catch(() => {});
        for (const e of executors) await e.close().catch(() => {});
        await monitor?.close().catch(() => {});
        await stopAgents();
        await client.close().catch(() => {});
        await lab.close();
      },
    };
    const cluster = config.clusters[0]!.name;
    for (const node of local) agents.set(node.name, await startLabAgent(lab, node, log, cluster));
    if (o.sshAgent) {
      sshd = await startSshd(join(lab.dir, "sshd"));
      stack.sshd = sshd;
      const agent = await startLabSshAgent(lab, sshd, log, {
        servers: o.sshAgent.servers,
        cluster,
        ...(o.sshAgent.saveBinlogs ? { saveDir: join(lab.dir, "saved-binlogs") } : {}),
        ...(o.sshAgent.backup ? { backup: o.sshAgent.backup } : {}),
      });
      for (const name of viaSsh) agents.set(name, agent);
    }
    for (let i = 1; i <= (o.executors ?? 2); i++) await stack.startExecutor(`executor-${i}`);
    for (let i = 1; i <= (o.deciders ?? 1); i++) await stack.startDecider(`decider-${i}`);
    if (o.monitor ?? true) {
      monitor = await startMonitor({
        config,
        monitorId: "m1",
        log: log.child({ svc: "monitor" }),
        http: o.monitorHttp ? (config.http ?? { host: "127.0.0.1", port: 0 }) : false,
      });
      await monitor.ready;
      stack.monitor = monitor;
    }
    return stack;
  } catch (err) {
    for (const e of executors) await e.close().catch(() => {});
    for (const d of deciders) await d.app.close(false).catch(() => {});
    await monitor?.close().catch(() => {});
    await stopAgents();
    await nc?.close().catch(() => {});
    await lab.close();
    throw err;
  }
}
