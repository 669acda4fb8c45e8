// Host agents around a lab: in-process (stopping and starting the lab's own mariadbd), in
// SSH mode through a loopback sshd, or as OS processes inside their node's host namespace
// (the agent then starts and stops mariadbd itself, from the node's argv and pid file).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentConfig, type RunningAgent, startAgent } from "@marina/agent";
import { subjects } from "@marina/contracts";
import {
  type Lab,
  type MariaNode,
  runServiceMain,
  type ServiceRun,
  sleep,
  stopServiceRun,
  type TestSshd,
} from "@marina/lab";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { serviceMain } from "./service-main.js";

/** Host id of the agent that serves a lab node. */
export const agentHostOf = (server: string) => `agent-${server}`;

/** Host id of the stack's agent in SSH mode. */
export const SSH_AGENT_HOST = "agent-ssh";

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
    // The node's my.cnf reads its conf.d: persisted replication filters survive a restart.
    replicationFiltersFile: join(node.confDir, "marina-replication-filters.cnf"),
  };
}

/** The `backup` section of a lab agent's config. */
export function backupAccount(lab: Lab, which: AgentBackup = "lab") {
  const a = which === "root" ? lab.credentials.root : lab.credentials.backup;
  return { user: a.user, ...(a.password !== "" ? { password: { value: a.password } } : {}) };
}

interface LabAgentParts {
  servers: object[];
  saveDir?: string;
  /** Where take-backup keeps backups. */
  backupDir?: string;
  backup?: AgentBackup | undefined;
  /** Where donors reach this agent's host; default loopback (an agent in the root namespace). */
  address?: string;
  /** Serve /healthz and /metrics on a free loopback port (the agent's `httpUrl`). */
  http?: boolean;
}

/**
 * A lab agent's config as its file would hold it: the lab's NATS with the agent account,
 * short timeouts, serving `servers`.
 */
function labAgentConfig(lab: Lab, host: string, parts: LabAgentParts) {
  const tmpDir = join(lab.dir, `agent-tmp-${host}`);
  mkdirSync(tmpDir, { recursive: true });
  const { backup, address, http, ...rest } = parts;
  return {
    host,
    nats: {
      servers: [...lab.natsUrls],
      ...(lab.natsUsers
        ? { user: lab.natsUsers.agent.user, password: { value: lab.natsUsers.agent.password } }
        : {}),
      ...(lab.tls ? { tls: { ca: lab.tls.caFile } } : {}),
    },
    advertiseAddress: address ?? "127.0.0.1",
    listenAddress: address ?? "127.0.0.1",
    backup: backupAccount(lab, backup),
    tmpDir,
    ...rest,
    heartbeatMs: 1000,
    progressMs: 250,
    timeouts: { connectMs: 30_000, idleMs: 30_000, serviceMs: 60_000 },
    ...(http ? { http: { host: "127.0.0.1", port: 0 } } : {}),
  };
}

/** Starts an in-process agent serving `nodes`; stop and start go to the lab's own nodes. */
function startLabAgentFor(
  lab: Lab,
  log: Logger,
  host: string,
  nodes: readonly MariaNode[],
  parts: LabAgentParts,
): Promise<RunningAgent> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return startAgent({
    config: AgentConfig.parse(labAgentConfig(lab, host, parts)),
    log: log.child({ agent: host }),
    serviceControl: (s) => labControl(byName.get(s.name)!)(),
  });
}

/** Starts the agent of one lab node (as `agents` does; for tests that restart one). */
export function startLabAgent(
  lab: Lab,
  node: MariaNode,
  log: Logger,
  cluster = "main",
  o: { http?: boolean; backup?: AgentBackup; backupDir?: string } = {},
): Promise<RunningAgent> {
  return startLabAgentFor(lab, log, agentHostOf(node.name), [node], {
    servers: [labServer(node, cluster)],
    ...(o.http ? { http: true } : {}),
    ...(o.backup ? { backup: o.backup } : {}),
    ...(o.backupDir ? { backupDir: o.backupDir } : {}),
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

/**
 * The agent of one lab node as an OS process inside the node's host namespace (hosts
 * mode), from a config file, as on a real host: it controls mariadbd through the
 * `process` service control (the node's argv and pid file), so it keeps working when the
 * lab's own process is gone (an agent that restarted the server owns the new one). Resolves
 * once its first heartbeat arrives on `nc`.
 */
export async function spawnLabAgent(
  lab: Lab,
  node: MariaNode,
  nc: NatsConnection,
  cluster = "main",
  timeoutMs = 30_000,
): Promise<ServiceRun> {
  const host = agentHostOf(node.name);
  const config = labAgentConfig(lab, host, {
    address: node.host,
    servers: [
      {
        ...labServer(node, cluster),
        service: {
          kind: "process",
          start: node.serverArgv(),
          pidFile: node.pidFile,
          logFile: join(node.dir, "agent-started.out"),
          stopTimeoutMs: 60_000,
          startTimeoutMs: 60_000,
        },
      },
    ],
  });
  AgentConfig.parse(config); // a bad one fails here, not as a child's exit code
  const file = join(lab.dir, `${host}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  let timer: NodeJS.Timeout | undefined;
  let beat: { unsubscribe(): void } | undefined;
  const run = await new Promise<ServiceRun>((resolve, reject) => {
    beat = nc.subscribe(subjects.agentHeartbeat(host), { max: 1, callback: () => resolve(run) });
    const run = runServiceMain(
      serviceMain("@marina/agent"),
      ["--config", file],
      { LOG_LEVEL: process.env.MARINA_LOG_LEVEL ?? "info" },
      { host: lab.hostOf(node.name) },
    );
    const fail = (why: string) => {
      void stopServiceRun(run, 1_000);
      reject(new Error(`${host}: ${why}:\n${run.stderr.slice(-2000)}`));
    };
    timer = setTimeout(() => fail(`no heartbeat within ${timeoutMs} ms`), timeoutMs);
    void run.exit.then((e) => fail(`exited (${e.code ?? e.signal}) before its first heartbeat`));
  }).finally(() => {
    clearTimeout(timer);
    beat?.unsubscribe();
  });
  return run;
}

/**
 * The pid of `node`'s running mariadbd, whoever started it: the lab, or an agent (found by
 * the node's pid file, and checked to be this node's server by its command line).
 */
export function serverPid(node: MariaNode): number | undefined {
  if (node.pid !== undefined) return node.pid;
  const pid = Number(readText(node.pidFile).trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const argv = readText(`/proc/${pid}/cmdline`).split("\0");
  return argv.includes(`--defaults-file=${node.defaultsFile}`) ? pid : undefined;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGCONT + SIGKILL each of `pids` (a frozen process dies at once) and waits until gone. */
export async function killPids(pids: readonly number[], timeoutMs = 5_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(20);
}

/** Kills the servers of the lab that an agent started (the lab kills only its own); waits. */
export function killAgentStartedServers(lab: Lab): Promise<void> {
  return killPids(
    lab.nodes.flatMap((n) => {
      const pid = serverPid(n);
      return pid !== undefined && pid !== n.pid ? [pid] : [];
    }),
  );
}
