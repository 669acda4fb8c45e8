// Shared by the tests that throw junk at a running stack: a log that can be read back, what
// "nothing changed" means (the decider's view and every server's replication state, by
// SQL), and "every service still answers".
import {
  AgentResultMessage,
  ExecResultMessage,
  envelope,
  type HealthSample,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { gtidOf, replicaStatus, semiSyncStatus, waitFor } from "@marina/lab";
import { type Logger, type LogRecord, memoryLogger } from "@marina/runtime";
import type { Stack } from "../src/stack.js";
import { agentHostOf } from "../src/stack.js";
import { healthLog, readOnly, status } from "./scenario-helpers.js";

export type { LogRecord };

/** A logger whose JSON lines are kept, for "it warned about that" checks. */
export function captureLog(level = "warn"): { log: Logger; records: LogRecord[] } {
  const { log, records } = memoryLogger(level);
  return { log, records };
}

/** Waits for the decider to know db1 as primary and to have heard every host agent. */
export async function stackSettled(stack: Stack): Promise<void> {
  await waitFor(
    async () => {
      const st = await status(stack.nc).catch(() => ({}) as Record<string, unknown>);
      const agents = Object.values((st.agents ?? {}) as Record<string, number | null>);
      return st.primary === "db1" && agents.length === stack.agents.size && !agents.includes(null);
    },
    { timeoutMs: 30_000, message: "decider reporting db1 as primary and every agent" },
  );
}

/** The decider's view without what moves by itself (time since each agent's last beat). */
export async function deciderView(stack: Stack): Promise<Record<string, unknown>> {
  const { agents: _moving, ...rest } = await status(stack.nc);
  return rest;
}

/** What a message that slipped through would change on a server. */
export async function serverState(stack: Stack): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const node of stack.lab.nodes) {
    out[node.name] = {
      gtid: await gtidOf(node),
      readOnly: await readOnly(node),
      semiSync: await semiSyncStatus(node),
      replication: (await replicaStatus(node)).map((c) => ({
        connection: c.connectionName,
        master: `${c.masterHost}:${c.masterPort}`,
        io: c.ioRunning,
        sql: c.sqlRunning,
      })),
    };
  }
  return out;
}

/** A request an executor refuses at its fence (epoch 0 is older than any leader's). */
export function staleInspect(server: string): string {
  const req = {
    cluster: "main",
    server,
    opId: "op-alive",
    stepId: "alive-1",
    epoch: 0,
    step: { kind: "inspect" },
  };
  return JSON.stringify(envelope("exec-request", "test", req));
}

/**
 * Every service still works: the decider answers status, an executor gets as far as its
 * epoch fence, each agent answers status, and the monitor still publishes samples.
 */
export async function assertAlive(stack: Stack): Promise<void> {
  const st = await status(stack.nc);
  if (st.primary !== "db1") throw new Error(`decider reports primary ${String(st.primary)}`);
  const exec = await stack.nc.request(subjects.exec("main"), staleInspect("db2"), {
    timeout: 5_000,
  });
  const r = parseMessage(ExecResultMessage, exec.data);
  if (!r.ok || r.value.payload.error?.code !== "STALE_EPOCH") {
    throw new Error(`executor answered ${exec.string()}`);
  }
  for (const name of stack.agents.keys()) {
    const host = agentHostOf(name);
    const req = { host, opId: "op-alive", epoch: 0, request: { action: "status" } };
    const m = await stack.nc.request(
      subjects.agent(host, "status"),
      JSON.stringify(envelope("agent-request", "test", req)),
      { timeout: 5_000 },
    );
    const a = parseMessage(AgentResultMessage, m.data);
    if (!a.ok || !a.value.payload.ok) throw new Error(`agent ${host} answered ${m.string()}`);
  }
  const samples = healthLog(stack.nc, "db1");
  try {
    await samples.waitCount(1, (s: HealthSample) => s.reachable, 10_000);
  } finally {
    samples.close();
  }
}
