// Marina's services running in-process (or as child processes) around a lab: what the
// sandbox demo, the end-to-end tests and the benchmarks use.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { AgentConfig, type RunningAgent, startAgent } from "@marina/agent";
import type { MarinaConfig } from "@marina/contracts";
import { buildApp as buildDecider, type DeciderApp, type DeciderOptions } from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import { type Lab, type LabOptions, type MariaNode, startLab } from "@marina/lab";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { configFromLab, type LabConfigOptions } from "./lab-config.js";

export interface StackOptions {
  lab?: LabOptions;
  config?: LabConfigOptions;
  executors?: number;
  deciders?: number;
  monitor?: boolean;
  log?: Logger;
  leaseTtlMs?: number;
  /**
   * One host agent per lab node (host id `agent-<node>`, set as the server's agentHost),
   * in-process, stopping and starting the lab's own mariadbd: what rebuilds need.
   */
  agents?: boolean;
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
  /** Host agents by server name (empty unless `agents`). */
  agents: Map<string, RunningAgent>;
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

/** Starts the agent of one lab node (as `agents` does; for tests that restart one). */
export async function startLabAgent(
  lab: Lab,
  node: MariaNode,
  log: Logger,
  cluster = "main",
): Promise<RunningAgent> {
  const tmpDir = join(lab.dir, `agent-tmp-${node.name}`);
  mkdirSync(tmpDir, { recursive: true });
  const config = AgentConfig.parse({
    host: agentHostOf(node.name),
    nats: { servers: [lab.nats!.url] },
    advertiseAddress: "127.0.0.1",
    listenAddress: "127.0.0.1",
    backup: {
      user: lab.credentials.marina.user,
      password: { value: lab.credentials.marina.password },
    },
    tmpDir,
    servers: [
      {
        name: node.name,
        cluster,
        datadir: node.datadir,
        defaultsFile: node.defaultsFile,
        socket: node.socket,
        port: node.port,
        osUser: "root",
        osGroup: "root",
      },
    ],
    heartbeatMs: 1000,
    progressMs: 250,
    timeouts: { connectMs: 30_000, idleMs: 30_000, serviceMs: 60_000 },
  });
  return startAgent({
    config,
    log: log.child({ agent: config.host }),
    serviceControl: labControl(node),
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
  const stopAgents = async () => {
    for (const a of agents.values()) await a.stop().catch(() => {});
    agents.clear();
  };
  try {
    const agentHosts = o.agents
      ? Object.fromEntries(lab.nodes.map((n) => [n.name, agentHostOf(n.name)]))
      : undefined;
    const config = configFromLab(lab, {
      semiSync: o.lab?.semiSync ?? false,
      ...(agentHosts ? { agentHosts } : {}),
      ...o.config,
    });
    const configFile = join(lab.dir, "marina.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    nc = await connect({ servers: config.nats.servers });
    const client = nc;
    const stack: Stack = {
      lab,
      config,
      nc: client,
      monitor,
      executors,
      deciders,
      agents,
      log,
      configFile,
      async startDecider(id, extra = {}) {
        const dnc = await connect({ servers: config.nats.servers, name: id });
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
    if (o.agents) {
      const cluster = config.clusters[0]!.name;
      for (const node of lab.nodes) {
        agents.set(node.name, await startLabAgent(lab, node, log, cluster));
      }
    }
    for (let i = 1; i <= (o.executors ?? 2); i++) await stack.startExecutor(`executor-${i}`);
    for (let i = 1; i <= (o.deciders ?? 1); i++) await stack.startDecider(`decider-${i}`);
    if (o.monitor ?? true) {
      monitor = await startMonitor({
        config,
        monitorId: "m1",
        log: log.child({ svc: "monitor" }),
        http: false,
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
