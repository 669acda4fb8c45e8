// Fuzzing the request subjects of the real services (nats-server, 3 mariadbd, monitor,
// decider, two executors, an agent per server): every cmd.<verb>, the exec subject and
// every agent action get raw bytes and fast-check-generated broken requests (fixed seed,
// bounded runs), and valid requests for servers, hosts and clusters that do not exist.
// Each must be answered with a structured refusal; afterwards nothing has changed (no
// operation, the decider's view and every server's GTIDs, read_only and replication as
// before) and every service still answers.
import {
  AgentActionNames,
  AgentResultMessage,
  CommandPayloads,
  CommandReplyMessage,
  CommandVerbs,
  type ErrorBody,
  type ErrorCode,
  ExecResultMessage,
  envelope,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { errors } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startStack } from "../src/stack.js";
import { badAgentRequest, badCommand, badExec, type Probe } from "./fuzz-messages.js";
import { assertAlive, deciderView, serverState, stackSettled } from "./hostile-helpers.js";

const SEED = 20_261_120;
const INVALID: ErrorCode[] = ["BAD_JSON", "VALIDATION_FAILED", "UNKNOWN_COMMAND"];
const REPLIES = {
  command: CommandReplyMessage,
  exec: ExecResultMessage,
  agent: AgentResultMessage,
};

const MB = 1_000_000;
const RAW: Record<string, string | Uint8Array> = {
  "not JSON": new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x22, 0x3a]),
  empty: "",
  "a JSON array": "[1,2,3]",
  "a 1 MB body": `{"x":"${"a".repeat(MB - 10)}"}`,
  "a 1 MB key": `{"${"k".repeat(MB - 10)}":1}`,
};

describe("fuzzing the services' request subjects", () => {
  let stack: Stack;
  let obs: Observer;
  let view: Record<string, unknown>;
  let servers: Record<string, unknown>;
  const hosts = ["db1", "db2", "db3"].map(agentHostOf);
  let sent = 0;

  beforeAll(async () => {
    stack = await startStack({ agents: true, lab: { nodes: 3 } });
    obs = observe(stack.nc, "main");
    await stackSettled(stack);
    view = await deciderView(stack);
    servers = await serverState(stack);
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  /** Sends one message and returns the service's refusal; a missing or odd reply throws. */
  async function refusal(p: Probe): Promise<ErrorBody> {
    sent += 1;
    const what = `${p.subject} ${typeof p.body === "string" ? p.body.slice(0, 200) : "<bytes>"}`;
    const m = await stack.nc.request(p.subject, p.body, { timeout: 5_000 }).catch((err) => {
      throw new Error(`no reply to ${what}: ${(err as Error).message}`);
    });
    const r = parseMessage(REPLIES[p.family], m.data);
    if (!r.ok) throw new Error(`invalid reply to ${what}: ${r.error.message}: ${m.string()}`);
    const reply = r.value.payload;
    if (reply.ok || !reply.error) throw new Error(`${what} was accepted: ${m.string()}`);
    return reply.error;
  }

  /** A refusal of an invalid message: a validation code, and the bad field's path. */
  async function refusedAsInvalid(p: Probe): Promise<void> {
    const e = await refusal(p);
    const what = `${p.subject} ${String(p.body).slice(0, 200)}`;
    expect(INVALID, `${what}: ${e.code} ${e.message}`).toContain(e.code);
    if (e.code !== "BAD_JSON") expect(typeof e.path, `${what}: a path`).toBe("string");
  }

  it("refuses raw bytes on every subject", async () => {
    const probes: Probe[] = [];
    for (const [name, body] of Object.entries(RAW)) {
      for (const verb of CommandVerbs) {
        // An empty body is the bare payload {}: a command for commands without fields.
        if (name === "empty" && CommandPayloads[verb].safeParse({}).success) continue;
        probes.push({ family: "command", subject: subjects.cmd("main", verb), body });
      }
      probes.push({ family: "exec", subject: subjects.exec("main"), body });
      for (const a of AgentActionNames) {
        probes.push({ family: "agent", subject: subjects.agent(hosts[0]!, a), body });
      }
    }
    for (const p of probes) await refusedAsInvalid(p);
  });

  const runs = (arb: fc.Arbitrary<Probe>, numRuns: number) =>
    fc.assert(
      fc.asyncProperty(arb, (p) => refusedAsInvalid(p)),
      { seed: SEED, numRuns, endOnFailure: true },
    );

  it("refuses broken commands on every cmd.<verb>", () => runs(badCommand, 120));
  it("refuses broken exec requests", () => runs(badExec, 60));
  it("refuses broken requests on every agent action", () => runs(badAgentRequest(hosts), 60));

  it("refuses unknown commands, naming the verb", async () => {
    for (const verb of [
      "explode",
      "constructor",
      "__proto__",
      "status;reboot",
      "💥",
      "x".repeat(300),
    ]) {
      const e = await refusal({
        family: "command",
        subject: `marina.v1.main.cmd.${verb}`,
        body: "{}",
      });
      expect([e.code, e.path]).toEqual(["UNKNOWN_COMMAND", "verb"]);
    }
  });

  const NOBODY = ["db9", "constructor", "hasOwnProperty"];

  it("refuses valid commands for servers that do not exist", async () => {
    for (const name of NOBODY) {
      const cases: [string, Record<string, unknown>, string][] = [
        ["failover", { target: name, force: true }, "target"],
        ["switchover", { target: name }, "target"],
        ["rejoin", { server: name }, "server"],
        ["rebuild", { target: name }, "target"],
        ["rebuild", { target: "db3", source: name }, "source"],
        ["set-maintenance", { server: name }, "server"],
        ["clear-maintenance", { server: name }, "server"],
      ];
      for (const [verb, payload, path] of cases) {
        const bare = JSON.stringify(payload);
        const env = JSON.stringify(envelope(`cmd.${verb}`, "fuzz", payload));
        for (const body of [bare, env]) {
          const e = await refusal({
            family: "command",
            subject: `marina.v1.main.cmd.${verb}`,
            body,
          });
          expect([e.code, e.path], `${verb} ${body}`).toEqual(["UNKNOWN_SERVER", path]);
        }
      }
      const cancel = await refusal({
        family: "command",
        subject: subjects.cmd("main", "cancel"),
        body: JSON.stringify({ opId: name }),
      });
      expect([cancel.code, cancel.path]).toEqual(["NOT_APPLICABLE", "opId"]);
    }
  });

  it("refuses valid exec and agent requests for servers, clusters and hosts that do not exist", async () => {
    const exec = (over: Record<string, unknown>) => ({
      family: "exec" as const,
      subject: subjects.exec("main"),
      body: JSON.stringify(
        envelope("exec-request", "fuzz", {
          cluster: "main",
          server: "db2",
          opId: "op-fuzz",
          stepId: "fuzz-2",
          epoch: 0,
          step: { kind: "set-read-only", readOnly: false },
          ...over,
        }),
      ),
    });
    const agent = (host: string, subjectHost: string, request: Record<string, unknown>) => ({
      family: "agent" as const,
      subject: subjects.agent(subjectHost, request.action as "stop-server"),
      body: JSON.stringify(
        envelope("agent-request", "fuzz", { host, opId: "op-fuzz", epoch: 0, request }),
      ),
    });
    for (const name of NOBODY) {
      const e1 = await refusal(exec({ server: name }));
      expect([e1.code, e1.path]).toEqual(["UNKNOWN_SERVER", "payload.server"]);
      const e2 = await refusal(exec({ cluster: name }));
      expect([e2.code, e2.path]).toEqual(["UNKNOWN_CLUSTER", "payload.cluster"]);
      const step = { kind: "change-master", connection: "", source: name, useGtid: "slave_pos" };
      const e3 = await refusal(exec({ step }));
      expect([e3.code, e3.path]).toEqual(["UNKNOWN_SERVER", "payload.step.source"]);
      // A server the agent does not have: refused (as unknown, or as stale: epoch 0).
      const e4 = await refusal(
        agent(hosts[1]!, hosts[1]!, { action: "stop-server", server: name }),
      );
      expect(["UNKNOWN_SERVER", "STALE_EPOCH"]).toContain(e4.code);
      // A request for another host, on this host's subject.
      const e5 = await refusal(agent(agentHostOf(name), hosts[1]!, { action: "status" }));
      expect([e5.code, e5.path]).toEqual(["REFUSED", "payload.host"]);
    }
    // Nobody serves an unknown cluster's commands or an unknown host: NATS says so at once.
    const noResponders = (subject: string) =>
      stack.nc.request(subject, "{}", { timeout: 5_000 }).then(
        () => "answered",
        (err: unknown) =>
          err instanceof errors.NoRespondersError ||
          (err instanceof errors.RequestError && err.isNoResponders())
            ? "no responders"
            : String(err),
      );
    expect(await noResponders("marina.v1.nosuch.cmd.status")).toBe("no responders");
    expect(await noResponders(subjects.agent("agent-db9", "stop-server"))).toBe("no responders");
  });

  it("changed nothing, and every service still answers", async () => {
    console.log(`fuzz: ${sent} messages refused`);
    expect(obs.operations()).toEqual([]);
    expect(await deciderView(stack)).toEqual(view);
    expect(await serverState(stack)).toEqual(servers);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await assertAlive(stack);
  });
});
