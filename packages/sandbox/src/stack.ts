// Marina's services running in-process (or as child processes) around a lab: what the
// sandbox demo, the end-to-end tests and the benchmarks use.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningAgent } from "@marina/agent";
import {
  HealthMessage,
  type MarinaConfig,
  type NatsRole,
  parseOnSubject,
  subjects,
} from "@marina/contracts";
import {
  buildApp as buildDecider,
  type DeciderOptions,
  type RunningDecider,
} from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import {
  type Lab,
  type LabOptions,
  runServiceMain,
  type ServiceRun,
  startLab,
  startSshd,
  type TestSshd,
} from "@marina/lab";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import { connectNatsWithRetry, natsCredentials } from "@marina/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import {
  type AgentBackup,
  agentHostOf,
  killAgentStartedServers,
  SSH_AGENT_HOST,
  spawnLabAgent,
  startLabAgent,
  startLabSshAgent,
} from "./lab-agents.js";
import { configFromLab, type LabConfigOptions } from "./lab-config.js";
import { serviceMain } from "./service-main.js";

export interface StackOptions {
  lab?: LabOptions;
  config?: LabConfigOptions;
  executors?: number;
  deciders?: number;
  monitor?: boolean;
  /** Serve the monitor's /metrics, /healthz, /status (config.http, else a free loopback port). */
  monitorHttp?: boolean;
  /**
   * Every in-process service serves /metrics (and /healthz) on a free loopback port (the
   * monitor as `monitorHttp`; a decider with an API on the API's): `stack.metricsUrls()`.
   */
  metricsHttp?: boolean;
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
  /**
   * Services as OS processes instead of in-process (`stack.spawned`, by id), for kill -9
   * and SIGSTOP: the `deciders` deciders (`decider-N`, with `leaseTtlMs`), the `executors`
   * executors (`executor-N`), and — with `agents`, in hosts mode — each node's agent inside
   * its host's namespace (`agent-<node>`), starting and stopping mariadbd itself.
   */
  processes?: { deciders?: boolean; executors?: boolean; agents?: boolean };
  /**
   * Hosts mode: one more monitor per name, each an OS process inside that lab host (made
   * with the lab's `extraHosts`), ids m2, m3…: vantage points other than the root
   * namespace's in-process monitor (m1). In `spawned` as `monitor-<host>`.
   */
  monitorHosts?: readonly string[];
}

export interface Decider {
  id: string;
  /** `app.apiUrl`: its HTTP API, when started with one (config.api, or `api`). */
  app: RunningDecider;
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
  /** Services run as OS processes (`processes`), by id: decider-1, executor-1, agent-db1. */
  spawned: Map<string, ServiceRun>;
  log: Logger;
  configFile: string;
  startDecider(
    id: string,
    extra?: Pick<DeciderOptions, "record" | "api" | "env">,
  ): Promise<Decider>;
  startExecutor(id: string): Promise<RunningExecutor>;
  /** The /metrics URL of every in-process service serving one, by service id. */
  metricsUrls(): Map<string, string>;
  /** A decider as its own OS process (for SIGSTOP / kill tests). */
  spawnDecider(id: string, extraArgs?: string[]): ChildProcess;
  close(): Promise<void>;
}

export {
  type AgentBackup,
  agentHostOf,
  backupAccount,
  SSH_AGENT_HOST,
  type SshAgentOptions,
  startLabAgent,
  startLabSshAgent,
} from "./lab-agents.js";
export { serviceMain } from "./service-main.js";

/** A free loopback port for a service's /metrics. */
const loopback = { host: "127.0.0.1", port: 0 } as const;

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const log = o.log ?? pino({ level: process.env.MARINA_LOG_LEVEL ?? "silent" });
  const lab = await startLab({ shape: "primary-replicas", nodes: 3, ...o.lab });
  const children: ChildProcess[] = [];
  const executors: RunningExecutor[] = [];
  const deciders: Decider[] = [];
  const agents = new Map<string, RunningAgent>();
  const spawned = new Map<string, ServiceRun>();
  let monitor: MonitorHandle | undefined;
  let nc: NatsConnection | undefined;
  let sshd: TestSshd | undefined;
  const stopAgents = async () => {
    for (const a of new Set(agents.values())) await a.stop().catch(() => {});
    agents.clear();
    await sshd?.stop().catch(() => {});
  };
  // First, and at once: a process left running could still act while the rest stops.
  const killSpawned = async () => {
    for (const r of spawned.values()) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill("SIGCONT");
        r.child.kill("SIGKILL");
      }
    }
    await Promise.all([...spawned.values()].map((r) => r.exit));
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
      spawned,
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
          ...(o.metricsHttp ? { metricsHttp: loopback } : {}),
          ...extra,
        });
        const d = { id, app, nc: dnc };
        deciders.push(d);
        return d;
      },
      async startExecutor(id) {
        const e = await startExecutor({
          config,
          id,
          log: log.child({ executor: id }),
          ...(o.metricsHttp ? { http: loopback } : {}),
        });
        executors.push(e);
        return e;
      },
      metricsUrls() {
        const urls = new Map<string, string>();
        if (monitor?.httpUrl) urls.set(`monitor-${monitor.app.monitorId}`, monitor.httpUrl);
        for (const d of deciders) {
          const url = d.app.metricsUrl ?? d.app.apiUrl;
          if (url) urls.set(d.id, url);
        }
        for (const e of executors) if (e.httpUrl) urls.set(e.id, e.httpUrl);
        for (const a of new Set(agents.values())) {
          if (a.httpUrl) urls.set(a.host, a.httpUrl);
        }
        return new Map([...urls].map(([id, url]) => [id, `${url}/metrics`]));
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
        await killSpawned();
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
        await killAgentStartedServers(lab);
        await lab.close();
      },
    };
    const cluster = config.clusters[0]!.name;
    const spawnService = (id: string, pkg: Parameters<typeof serviceMain>[0], args: string[]) => {
      const env = { LOG_LEVEL: process.env.MARINA_LOG_LEVEL ?? "info" };
      spawned.set(id, runServiceMain(serviceMain(pkg), ["--config", configFile, ...args], env));
    };
    for (const node of local) {
      if (o.processes?.agents) {
        spawned.set(agentHostOf(node.name), await spawnLabAgent(lab, node, client, cluster));
      } else {
        const http = o.metricsHttp ?? false;
        agents.set(node.name, await startLabAgent(lab, node, log, cluster, { http }));
      }
    }
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
    for (let i = 1; i <= (o.executors ?? 2); i++) {
      const id = `executor-${i}`;
      if (o.processes?.executors) spawnService(id, "@marina/executor", ["--id", id]);
      else await stack.startExecutor(id);
    }
    const ttl = o.leaseTtlMs ? ["--lease-ttl-ms", String(o.leaseTtlMs)] : [];
    for (let i = 1; i <= (o.deciders ?? 1); i++) {
      const id = `decider-${i}`;
      if (o.processes?.deciders) spawnService(id, "@marina/decider", ["--id", id, ...ttl]);
      else await stack.startDecider(id);
    }
    const extraMonitors = (o.monitorHosts ?? []).map((host, i) => {
      const id = `m${i + 2}`;
      const env = { LOG_LEVEL: process.env.MARINA_LOG_LEVEL ?? "info" };
      const args = ["--config", configFile, "--id", id];
      const run = runServiceMain(serviceMain("@marina/monitor"), args, env, {
        host: lab.hostOf(host),
      });
      spawned.set(`monitor-${host}`, run);
      return { id, run };
    });
    await Promise.all(extraMonitors.map((m) => firstSample(client, cluster, m.id, m.run)));
    if (o.monitor ?? true) {
      monitor = await startMonitor({
        config,
        monitorId: "m1",
        log: log.child({ svc: "monitor" }),
        http:
          o.monitorHttp || o.metricsHttp ? (config.http ?? { host: "127.0.0.1", port: 0 }) : false,
      });
      await monitor.ready;
      stack.monitor = monitor;
    }
    return stack;
  } catch (err) {
    await killSpawned();
    for (const e of executors) await e.close().catch(() => {});
    for (const d of deciders) await d.app.close(false).catch(() => {});
    await monitor?.close().catch(() => {});
    await stopAgents();
    await nc?.close().catch(() => {});
    await killAgentStartedServers(lab);
    await lab.close();
    throw err;
  }
}

/** Resolves on the first health sample monitor `id` publishes (30 s at most). */
async function firstSample(
  nc: NatsConnection,
  cluster: string,
  id: string,
  run: ServiceRun,
): Promise<void> {
  const sub = nc.subscribe(subjects.healthAll(cluster));
  const timer = setTimeout(() => sub.unsubscribe(), 30_000);
  try {
    for await (const m of sub) {
      const r = parseOnSubject(HealthMessage, m.subject, m.data);
      if (r.ok && r.value.payload.monitor === id) return;
    }
    throw new Error(`monitor ${id} published no health sample in 30 s; ${run.stderr.slice(-500)}`);
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}
