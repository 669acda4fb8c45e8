// Forged fencing epochs against the whole stack (lab of 3, monitor, two executors, a
// decider, an agent per server): exec and agent requests with an epoch below, just above
// and far above the leader lease are all refused and change nothing; none of them is
// remembered, so the real leader still acts: a switchover through cmd.switchover succeeds.
import {
  AgentResultMessage,
  type ErrorCode,
  type ExecResult,
  ExecResultMessage,
  type ExecStep,
  envelope,
  newId,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startStack } from "../src/stack.js";
import {
  command,
  operationResult,
  readLease,
  readOnlyOf,
  replicatesFrom,
  topologyWith,
} from "./ha-helpers.js";

const MAX = Number.MAX_SAFE_INTEGER;

describe("forged epochs cannot lock the leader out", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ agents: true, lab: { nodes: 3, semiSync: false } });
    obs = observe(stack.nc, "main");
    await topologyWith(obs, (t) => t.writer?.server === "db1", 30_000, "db1 as writer");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  /** A forger's exec request: what anyone allowed to publish on the exec subject can send. */
  async function forgeExec(server: string, step: ExecStep, epoch: number): Promise<ExecResult> {
    const req = { cluster: "main", server, opId: "forged", stepId: newId(), epoch, step };
    const m = await stack.nc.request(
      subjects.exec("main"),
      JSON.stringify(envelope("exec-request", "forger", req)),
      { timeout: 10_000 },
    );
    const r = parseMessage(ExecResultMessage, m.data);
    if (!r.ok) throw new Error(`not an exec result: ${m.string()}`);
    return r.value.payload;
  }

  async function forgeStop(server: string, epoch: number) {
    const host = agentHostOf("db3");
    const req = {
      host,
      opId: `forged-${newId()}`,
      epoch,
      request: { action: "stop-server", server },
    };
    const m = await stack.nc.request(
      subjects.agent(host, "stop-server"),
      JSON.stringify(envelope("agent-request", "forger", req)),
      { timeout: 10_000 },
    );
    const r = parseMessage(AgentResultMessage, m.data);
    if (!r.ok) throw new Error(`not an agent result: ${m.string()}`);
    return r.value.payload;
  }

  it("refuses forged exec and agent requests, then switches over", async () => {
    const lease = await waitFor(() => readLease(stack.nc), {
      timeoutMs: 20_000,
      message: "a decider holding the lease",
    });
    const forged: Array<[number, ErrorCode]> = [
      [lease.epoch - 1, "STALE_EPOCH"],
      [lease.epoch + 1, "FUTURE_EPOCH"],
      [MAX, "FUTURE_EPOCH"],
    ];
    const db3 = stack.lab.node("db3");
    expect(await readOnlyOf(db3)).toBe(1);
    // Each several times: the queue group spreads them over both executors.
    for (const [epoch, code] of forged) {
      for (let i = 0; i < 4; i++) {
        const inspect = await forgeExec("db2", { kind: "inspect" }, epoch);
        expect(inspect.ok, `inspect at epoch ${epoch}`).toBe(false);
        expect(inspect.error?.code).toBe(code);
        const write = await forgeExec("db3", { kind: "set-read-only", readOnly: false }, epoch);
        expect(write.error?.code, `set-read-only at epoch ${epoch}`).toBe(code);
      }
      const stop = await forgeStop("db3", epoch);
      expect(stop.error?.code, `stop-server at epoch ${epoch}`).toBe(code);
    }
    // Refused for another reason first, with a huge epoch: nothing learnt either.
    expect((await forgeStop("db9", MAX)).error?.code).toBe("UNKNOWN_SERVER");
    expect(await readOnlyOf(db3)).toBe(1);
    expect(db3.isRunning()).toBe(true);

    // The leader still acts: a planned switchover to db2 goes through every executor.
    const reply = await command(stack.nc, "switchover", { target: "db2" });
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    const done = await operationResult(obs, reply.ok ? reply.opId! : "", 60_000);
    expect(done.state, `${done.message} ${JSON.stringify(done.error)}`).toBe("succeeded");
    expect(done.epoch).toBe(lease.epoch);
    const [db1, db2] = [stack.lab.node("db1"), stack.lab.node("db2")];
    await waitFor(() => replicatesFrom(db1, db2), {
      timeoutMs: 20_000,
      message: "db1 replicating from db2",
    });
    expect(await readOnlyOf(db2)).toBe(0);
  });
});
