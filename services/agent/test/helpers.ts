import { readdirSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type AgentAction,
  type AgentActionName,
  type AgentResult,
  AgentResultMessage,
  type Compression,
  envelope,
  mustParse,
  parseMessage,
  subjects,
} from "@marina/contracts";
import {
  changeMaster,
  type Lab,
  type MariaNode,
  replicaStatus,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { writeLease } from "@marina/lease-fence";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { AgentConfig, agentSubjects, type RunningAgent, startAgent } from "../src/index.js";

export const hostOf = (node: MariaNode) => `h-${node.name}`;

/** The lab node's own start/stop: the agent drives the lab's process, not a copy of it. */
export function labControl(node: MariaNode) {
  return () => ({
    start: () => node.start(),
    stop: async () => {
      await node.stop();
    },
    status: async () => ({ running: node.isRunning(), pid: node.pid ?? null }),
  });
}

export function agentConfigFor(lab: Lab, node: MariaNode, extra: Record<string, unknown> = {}) {
  return AgentConfig.parse({
    host: hostOf(node),
    nats: { servers: [lab.nats!.url] },
    advertiseAddress: "127.0.0.1",
    listenAddress: "127.0.0.1",
    // The lab's least-privilege backup account (docs/security.md), over the socket.
    backup: {
      user: lab.credentials.backup.user,
      password: { value: lab.credentials.backup.password },
    },
    tmpDir: join(lab.dir, `agent-tmp-${node.name}`),
    servers: [
      {
        name: node.name,
        cluster: "main",
        datadir: node.datadir,
        defaultsFile: node.defaultsFile,
        socket: node.socket,
        port: node.port,
        osUser: "root",
        osGroup: "root",
      },
    ],
    heartbeatMs: 500,
    progressMs: 250,
    timeouts: { connectMs: 30_000, idleMs: 30_000, serviceMs: 60_000 },
    ...extra,
  });
}

export async function startAgents(
  lab: Lab,
  extra: Record<string, unknown> = {},
): Promise<Map<string, RunningAgent>> {
  const agents = new Map<string, RunningAgent>();
  for (const node of lab.nodes) {
    const config = agentConfigFor(lab, node, extra);
    await mkdir(config.tmpDir, { recursive: true });
    agents.set(
      node.name,
      await startAgent({
        config,
        log: pino({ level: process.env.AGENT_LOG ?? "silent" }),
        serviceControl: labControl(node),
      }),
    );
  }
  return agents;
}

let opSeq = 0;
export const newOpId = (prefix = "op") => `${prefix}-${process.pid}-${++opSeq}`;

/**
 * The decider's side of the conversation: a NATS client with request helpers, holding the
 * leader lease of cluster "main" at `epoch` (agents admit only the lease's epoch).
 */
export class DeciderClient {
  readonly nc: NatsConnection;
  epoch = 1;

  private constructor(nc: NatsConnection) {
    this.nc = nc;
  }

  static async connect(url: string): Promise<DeciderClient> {
    const client = new DeciderClient(await connect({ servers: url, name: "test-decider" }));
    await client.lead(client.epoch);
    return client;
  }

  /** Takes the lease of "main" at `epoch` (a new leader), and sends with it from now on. */
  async lead(epoch: number): Promise<void> {
    await writeLease(this.nc, "main", epoch, "test-decider");
    this.epoch = epoch;
  }

  async request(
    host: string,
    request: AgentAction,
    opts: { opId?: string; epoch?: number; timeoutMs?: number } = {},
  ): Promise<AgentResult> {
    const action = request.action as AgentActionName;
    const msg = envelope("agent-request", "test/decider", {
      host,
      opId: opts.opId ?? newOpId(action),
      epoch: opts.epoch ?? this.epoch,
      request,
    });
    const reply = await this.nc.request(subjects.agent(host, action), JSON.stringify(msg), {
      timeout: opts.timeoutMs ?? 120_000,
    });
    const parsed = parseMessage(AgentResultMessage, reply.data);
    if (!parsed.ok) throw new Error(`bad reply: ${parsed.error.message}`);
    return parsed.value.payload;
  }

  /** Resolves with the final result of `opId` published on the host's done subject. */
  waitDone(host: string, opId: string, timeoutMs = 300_000): Promise<AgentResult> {
    return new Promise((resolve, reject) => {
      const sub = this.nc.subscribe(agentSubjects.done(host));
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`no done event for ${opId} on ${host} within ${timeoutMs} ms`));
      }, timeoutMs);
      void (async () => {
        for await (const m of sub) {
          const r = mustParse(AgentResultMessage, m.json()).payload;
          if (r.opId === opId) {
            clearTimeout(timer);
            sub.unsubscribe();
            resolve(r);
            return;
          }
        }
      })();
    });
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

export interface RebuildOutcome {
  readonly target: AgentResult;
  readonly donor: AgentResult;
  readonly accepted: AgentResult;
}

/** receive-backup on the target, send-backup on the donor, both done events awaited. */
export async function rebuildViaAgents(
  client: DeciderClient,
  target: MariaNode,
  donor: MariaNode,
  opts: { compression?: Compression; tls?: boolean } = {},
): Promise<RebuildOutcome> {
  const compression = opts.compression ?? { kind: "none" as const };
  const tls = opts.tls ?? false;
  const recvOp = newOpId("recv");
  const sendOp = newOpId("send");
  const targetDone = client.waitDone(hostOf(target), recvOp);
  const donorDone = client.waitDone(hostOf(donor), sendOp);
  // Subscriptions must be registered before the actions can finish.
  await client.nc.flush();
  const accepted = await client.request(
    hostOf(target),
    { action: "receive-backup", server: target.name, compression, tls },
    { opId: recvOp },
  );
  if (!accepted.ok) throw new Error(`receive-backup refused: ${JSON.stringify(accepted.error)}`);
  const port = accepted.data.port as number;
  const sent = await client.request(
    hostOf(donor),
    {
      action: "send-backup",
      server: donor.name,
      compression,
      tls,
      to: { address: "127.0.0.1", port },
    },
    { opId: sendOp },
  );
  if (!sent.ok) throw new Error(`send-backup refused: ${JSON.stringify(sent.error)}`);
  const [t, d] = await Promise.all([targetDone, donorDone]);
  return { target: t, donor: d, accepted };
}

/** What the decider does after a physical restore: position, CHANGE MASTER, START SLAVE. */
export async function repoint(target: MariaNode, primary: MariaNode, gtid: string): Promise<void> {
  await target.query("STOP ALL SLAVES");
  await target.query("RESET SLAVE ALL");
  await target.query("SET GLOBAL gtid_slave_pos = ?", [gtid]);
  await changeMaster(target, primary, { useGtid: "slave_pos" });
}

export async function sqlThreadRunning(node: MariaNode): Promise<boolean> {
  const s = await replicaStatus(node);
  return s.length > 0 && s.every((c) => c.sqlRunning === "Yes");
}

export async function converge(lab: Lab, primary: MariaNode): Promise<string> {
  return waitForConvergence(lab.nodes, { sources: [primary], timeoutMs: 60_000 });
}

export { waitFor };

/** Pids of live processes (not mariadbd) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (cmd.includes(text) && !cmd.includes("mariadbd")) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Rows and an InnoDB table of `rows` KB on the primary, replicated everywhere. */
export async function seedBulk(lab: Lab, primary: MariaNode, rows: number): Promise<void> {
  await writeRows(primary, 20);
  await primary.query(
    "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
  );
  await primary.query(
    `INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_${Math.trunc(rows)}`,
  );
  await converge(lab, primary);
}
