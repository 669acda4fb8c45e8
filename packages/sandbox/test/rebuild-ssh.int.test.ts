// Rebuilds of servers on hosts reached over SSH, end to end through the decider: a real
// lab (3 nodes), one agent in SSH mode (`agent-ssh`, through a loopback sshd) serving db2
// and db3, an ordinary agent for db1, a monitor, executors and two deciders. The decider
// only speaks the agent protocol: every call goes to the agent a server's agentHost names.
// Simulated: the "hosts" are this machine logged in as root (sudo off), and stop/start go
// to the lab, which owns mariadbd (src/stack.ts, startLabSshAgent).
import { join } from "node:path";
import {
  type AgentResult,
  AgentResultMessage,
  type CommandReply,
  envelope,
  mustParse,
  type OperationEvent,
  subjects,
} from "@marina/contracts";
import { checksumTables, gtidOf, waitFor, waitForConvergence, writeRows } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Observer } from "../src/observer.js";
import { observe } from "../src/observer.js";
import { SSH_AGENT_HOST, type Stack, startStack } from "../src/stack.js";
import { readLease, waitForReplicaSamples, waitLeaseHolder } from "./ha-helpers.js";
import { command, opEnded, replicating, status } from "./scenario-helpers.js";

const TABLES = ["lab_rows", "app.bulk"];
// Random bytes: zstd -19 moves them at a few MB/s here, so a transfer of them lasts seconds.
const BULK_ROWS = 24_000;

describe("rebuilds of servers an agent serves over SSH, through the decider", () => {
  let stack: Stack;
  let obs: Observer;
  const node = (n: string) => stack.lab.node(n);
  const saveDir = () => join(stack.lab.dir, "saved-binlogs");
  /** Every `.done` of the SSH agent, with when it arrived. */
  const dones: { at: number; result: AgentResult }[] = [];

  beforeAll(async () => {
    stack = await startStack({
      agents: true,
      // root: this agent is also a logical rebuild's target (ALL PRIVILEGES; see AgentBackup).
      sshAgent: { servers: ["db2", "db3"], saveBinlogs: true, backup: "root" },
      deciders: 2,
      lab: { nodes: 3, semiSync: false },
    });
    obs = observe(stack.nc, "main");
    const sub = stack.nc.subscribe(subjects.agentDone(SSH_AGENT_HOST));
    void (async () => {
      for await (const m of sub) {
        dones.push({ at: Date.now(), result: mustParse(AgentResultMessage, m.json()).payload });
      }
    })();
    const db1 = node("db1");
    await waitFor(
      async () => {
        const st = await status(stack.nc).catch(() => ({}) as Record<string, unknown>);
        const agents = (st.agents ?? {}) as Record<string, number | null>;
        return (
          st.primary === "db1" && agents[SSH_AGENT_HOST] != null && agents["agent-db1"] != null
        );
      },
      { timeoutMs: 30_000, message: "decider reporting db1 as primary and both agents" },
    );
    await writeRows(db1, 20);
    await db1.query(
      "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
    );
    await db1.query(
      `INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_${BULK_ROWS}`,
    );
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
  }, 240_000);

  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  async function diverge(name: string, table: string): Promise<void> {
    const since = performance.now();
    const n = node(name);
    await n.query("SET GLOBAL read_only = 0");
    await n.query(`CREATE TABLE app.${table} (i INT PRIMARY KEY) ENGINE=InnoDB`);
    await n.query(`INSERT INTO app.${table} VALUES (1)`);
    await writeRows(node("db1"), 5);
    await obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.at >= since &&
        o.event.situation === "ServerDiverged" &&
        o.event.server === name,
      30_000,
      `ServerDiverged for ${name}`,
    );
  }

  /** Sends the command until the source is accepted (a replica needs fresh samples). */
  async function start(body: string): Promise<string> {
    let reply: CommandReply | undefined;
    await waitFor(
      async () => {
        reply = await command(stack.nc, "rebuild", body);
        return reply.ok || reply.error.path !== "source";
      },
      { timeoutMs: 20_000, message: "source accepted" },
    ).catch(() => {});
    expect(reply?.ok, JSON.stringify(reply)).toBe(true);
    return reply?.ok ? reply.opId! : "";
  }

  async function rebuild(body: string): Promise<OperationEvent> {
    const opId = await start(body);
    return (await obs.waitFor(opEnded(opId), 180_000, `end of rebuild ${opId}`)).operation;
  }

  const messagesOf = (opId: string) =>
    obs
      .operations()
      .filter((o) => o.opId === opId)
      .map((o) => o.message);

  /** db3 replicates from db1 again, holds what db1 holds and nothing of `errant`. */
  async function expectRebuilt(errant: string): Promise<void> {
    const db1 = node("db1");
    const db3 = node("db3");
    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicating" });
    await writeRows(db1, 3);
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
    expect((await gtidOf(db3)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    expect(await checksumTables(db3, TABLES)).toEqual(await checksumTables(db1, TABLES));
    const [gone] = await db3.query<{ n: number }[]>(
      `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='${errant}'`,
    );
    expect(Number(gone?.n)).toBe(0);
    expect((await status(stack.nc)).diverged).toEqual({});
  }

  it("physical: the SSH-served target from the primary's local agent; its binlogs saved over SSH", async () => {
    await diverge("db3", "errant1");
    const end = await rebuild('{"target":"db3","source":"db1"}');
    expect(end.state, end.message).toBe("succeeded");
    expect(end.servers).toEqual({ target: "db3", source: "db1" });
    expect(end.message).toMatch(
      /db3 rebuilt from db1 \(.* streamed, datadir .*\) .* replicates from db1/,
    );
    expect(end.message).toContain(`its old binlogs were saved in ${saveDir()}/db3-`);
    // The calls went to the agents the servers name: agent-ssh for db3, agent-db1 for db1.
    expect(messagesOf(end.opId)).toContain(
      "agent-ssh: stopping db3, emptying its datadir, listening",
    );
    expect(messagesOf(end.opId).some((m) => m.includes("agent-db1 connects to send db1"))).toBe(
      true,
    );
    await expectRebuilt("errant1");
  });

  it("logical: dump and load both over SSH, the target's binlogs saved first", async () => {
    await diverge("db3", "errant2");
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    await waitForReplicaSamples(stack.nc, ["db2"], node("db1").port);
    const opId = await start('{"target":"db3","source":"db2","method":"logical"}');
    const end = (await obs.waitFor(opEnded(opId), 180_000, "end of the logical rebuild")).operation;
    expect(end.state, end.message).toBe("succeeded");
    expect(end.message).toMatch(/db3 rebuilt from db2 \(logical dump, .* loaded\)/);
    expect(end.message).toContain(`its old binlogs were saved in ${saveDir()}/db3-`);
    expect(messagesOf(opId).some((m) => m.startsWith("agent-ssh: wiping db3"))).toBe(true);
    await expectRebuilt("errant2");
    expect(await replicating(node("db2"))).toBe(true);
  });

  it("a new leading decider mid-transfer resumes it: the agent's transfer runs once", async () => {
    await diverge("db3", "errant3");
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    await waitForReplicaSamples(stack.nc, ["db2"], node("db1").port);
    const lease0 = await waitFor(() => readLease(stack.nc), { timeoutMs: 10_000 });
    const opId = await start(
      '{"target":"db3","source":"db2","compression":{"kind":"zstd","level":19}}',
    );
    await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.opId === opId &&
        o.operation.phase === "stream" &&
        (o.operation.progress?.bytes ?? 0) > 0,
      60_000,
      "progress of the stream",
    );
    // The leader steps down (releasing its lease): the other decider takes over.
    const leader = stack.deciders.find((d) => d.id === lease0.holder)!;
    const follower = stack.deciders.find((d) => d.id !== lease0.holder)!;
    const changedAt = Date.now();
    await leader.app.close(true);
    const lease1 = await waitLeaseHolder(stack.nc, follower.id);
    expect(lease1.epoch).toBeGreaterThan(lease0.epoch);

    const end = (await obs.waitFor(opEnded(opId), 180_000, "end of the rebuild")).operation;
    expect(end.state, end.message).toBe("succeeded");
    expect(end.epoch).toBe(lease1.epoch);
    expect(
      obs
        .operations()
        .some((e) => e.opId === opId && e.epoch === lease1.epoch && /resumed/.test(e.message)),
    ).toBe(true);

    // One receive and one send, each ended once, after the change: the transfer was in
    // flight when the leader changed, and nothing started it again.
    const ended = (key: string) => dones.filter((d) => d.result.opId === `${opId}-${key}`);
    expect(ended("receive")).toHaveLength(1);
    expect(ended("send")).toHaveLength(1);
    expect(ended("receive")[0]!.at).toBeGreaterThan(changedAt);
    const reply = await stack.nc.request(
      subjects.agent(SSH_AGENT_HOST, "status"),
      JSON.stringify(
        envelope("agent-request", "test", {
          host: SSH_AGENT_HOST,
          opId: "status-after-takeover",
          epoch: lease1.epoch,
          request: { action: "status" },
        }),
      ),
      { timeout: 10_000 },
    );
    const agentStatus = mustParse(AgentResultMessage, reply.json()).payload;
    const ops = (
      agentStatus.data.operations as { opId: string; action: string; startedAt: string }[]
    ).filter((o) => o.opId.startsWith(`${opId}-`));
    expect(ops.map((o) => [o.opId, o.action]).sort()).toEqual([
      [`${opId}-receive`, "receive-backup"],
      [`${opId}-send`, "send-backup"],
    ]);
    for (const o of ops) expect(Date.parse(o.startedAt)).toBeLessThan(changedAt);
    await expectRebuilt("errant3");
  });
});
