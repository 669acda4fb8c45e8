import type { AgentResult, ClusterConfig, ErrorCode, ServerObservation } from "@marina/contracts";
import { errorBody } from "@marina/contracts/parse";
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import { sshHostOf, sshServerOf } from "../src/plans/rebuild.js";
import {
  Driver,
  healthyObservations,
  heartbeat,
  makeConfig,
  okResult,
  opEventsIn,
  repliesIn,
  type StepAction,
  stepsIn,
  summarize,
} from "./helpers.js";

// The rebuild over SSH (agentless): the same plan as through the agents, its calls addressed
// to the pseudo hosts `ssh:<server>` that the shell runs over SSH. The core only checks that
// both servers have SSH settings; no agent heartbeat is needed.

type AgentAction = Extract<Action, { kind: "agent" }>;
const agentsIn = (actions: Action[]): AgentAction[] =>
  actions.filter((a): a is AgentAction => a.kind === "agent");

const FP = `SHA256:${"A".repeat(43)}`;
const SSH = {
  privateKey: { path: "/etc/marina/id_ed25519" },
  hostKeyFingerprint: FP,
  datadir: "/var/lib/mysql",
};

function sshConfig(over: Partial<ClusterConfig> = {}, agents = false): ClusterConfig {
  const base = makeConfig({
    servers: agents
      ? [
          { name: "db1", agentHost: "h1" },
          { name: "db2", agentHost: "h2" },
          { name: "db3", agentHost: "h3" },
        ]
      : [{ name: "db1" }, { name: "db2" }, { name: "db3" }],
  });
  return { ...base, ssh: SSH, ...over };
}

function cluster(config: ClusterConfig) {
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  d.round(healthy);
  return { d, healthy };
}

function errant(o: ServerObservation): ServerObservation {
  return { ...o, readOnly: true, gtidBinlogPos: "0-3-101", gtidCurrentPos: "0-3-101" };
}

function answer(a: AgentAction, ok: boolean, data: Record<string, unknown>, code?: ErrorCode) {
  const result: AgentResult = {
    host: a.request.host,
    opId: a.request.opId,
    ok,
    durationMs: 1,
    data,
    error: ok ? null : errorBody(code ?? "INTERNAL", `${code}: host key SHA256:x does not match`),
  };
  return result;
}

function feed(d: Driver, a: AgentAction, via: "reply" | "done", r: AgentResult) {
  return d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via, result: r });
}

function answerSteps(d: Driver, actions: Action[]): Action[] {
  const all: Action[] = [];
  const queue: StepAction[] = stepsIn(actions);
  while (queue.length) {
    const s = queue.shift()!;
    const out = d.result(s, okResult(s.request.stepId));
    all.push(...out);
    queue.push(...stepsIn(out));
  }
  return all;
}

describe("rebuild over ssh", () => {
  it("pseudo hosts: ssh:<server> is never an agent host id", () => {
    expect(sshHostOf("db3")).toBe("ssh:db3");
    expect(sshServerOf("ssh:db3")).toBe("db3");
    expect(sshServerOf("agent-db3")).toBeNull();
  });

  it("runs receive → send → stream → attach through ssh pseudo hosts, without agents", () => {
    const { d, healthy } = cluster(sshConfig());
    d.health("db3", errant(healthy.db3!));
    const out = d.command("rebuild", { target: "db3", transport: "ssh" });
    const reply = repliesIn(out)[0]!;
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    const [receive] = agentsIn(out);
    expect(receive?.request).toMatchObject({
      host: "ssh:db3",
      request: { action: "receive-backup", server: "db3" },
    });
    const afterReceive = feed(
      d,
      receive!,
      "reply",
      answer(receive!, true, { state: "running", address: "127.0.0.1", port: 4444 }),
    );
    const [send] = agentsIn(afterReceive);
    expect(send?.request).toMatchObject({
      host: "ssh:db2",
      request: { action: "send-backup", server: "db2", to: { address: "127.0.0.1", port: 4444 } },
    });
    feed(d, send!, "reply", answer(send!, true, { state: "running" }));
    expect(d.state.operation?.phase).toBe("stream");
    feed(d, send!, "done", answer(send!, true, {}));
    const attach = feed(d, receive!, "done", answer(receive!, true, { gtid: "0-1-100" }));
    const rest = answerSteps(d, attach);
    expect(stepsIn([...attach, ...rest]).map(summarize)).toContain(
      "step db3 set-gtid-slave-pos 0-1-100",
    );
    const end = opEventsIn(rest).at(-1)!;
    expect(end).toMatchObject({ kind: "rebuild", state: "succeeded" });
    expect(end.message).toMatch(/db3 rebuilt from db2 .* at 0-1-100; replicates from db1/);
  });

  it("refuses when a server lacks ssh settings, naming it and the missing fields", () => {
    const base = sshConfig({ ssh: undefined });
    const config: ClusterConfig = {
      ...base,
      servers: base.servers.map((s) =>
        s.name === "db3" ? { ...s, ssh: SSH } : { ...s, ssh: { user: "marina" } },
      ),
    };
    const { d, healthy } = cluster(config);
    d.health("db3", errant(healthy.db3!));
    const r = repliesIn(d.command("rebuild", { target: "db3", transport: "ssh" }))[0]!;
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE", path: "transport" } });
    expect(!r.ok && r.error.message).toMatch(
      /db2 lacks ssh privateKey, hostKeyFingerprint, datadir/,
    );
    expect(!r.ok && r.error.message).not.toMatch(/db3 (lacks|has no)/);
    expect(d.state.operation).toBeNull();
  });

  it("a refused ssh connection (host key mismatch) fails at once, the target untouched", () => {
    const { d, healthy } = cluster(sshConfig());
    d.health("db3", errant(healthy.db3!));
    const [receive] = agentsIn(d.command("rebuild", { target: "db3", transport: "ssh" }));
    const out = feed(d, receive!, "reply", answer(receive!, false, {}, "REFUSED"));
    expect(agentsIn(out)).toEqual([]);
    expect(stepsIn(out)).toEqual([]);
    const end = opEventsIn(out).at(-1)!;
    expect(end).toMatchObject({ state: "failed", error: { code: "REFUSED" } });
    expect(end.message).toMatch(/ssh:db3: .*host key .* does not match/);
    expect(end.message).toMatch(/db3 was not changed/);
  });

  it("a cancel mid-stream sends cancel to both ssh pseudo hosts, then checks the donor", () => {
    const { d, healthy } = cluster(sshConfig());
    d.health("db3", errant(healthy.db3!));
    const out = d.command("rebuild", { target: "db3", transport: "ssh" });
    const reply = repliesIn(out)[0]!;
    const [receive] = agentsIn(out);
    const [send] = agentsIn(
      feed(
        d,
        receive!,
        "reply",
        answer(receive!, true, { state: "running", address: "127.0.0.1", port: 4444 }),
      ),
    );
    feed(d, send!, "reply", answer(send!, true, { state: "running" }));
    const opId = reply.ok ? reply.opId! : "";
    const cancels = agentsIn(d.command("cancel", { opId, reason: "by hand" }));
    expect(cancels.map((a) => [a.request.host, a.request.request])).toEqual([
      ["ssh:db3", { action: "cancel", opId: receive!.request.opId }],
      ["ssh:db2", { action: "cancel", opId: send!.request.opId }],
    ]);
    feed(d, receive!, "done", answer(receive!, false, {}, "CANCELLED"));
    feed(d, send!, "done", answer(send!, false, {}, "CANCELLED"));
    feed(d, cancels[0]!, "reply", answer(cancels[0]!, true, { state: "cancelled" }));
    const recover = feed(
      d,
      cancels[1]!,
      "reply",
      answer(cancels[1]!, true, { state: "cancelled" }),
    );
    const rest = answerSteps(d, recover);
    expect(stepsIn([...recover, ...rest]).map(summarize)).toEqual([
      "step db2 start-replication ''",
      "step db2 verify-replicating ''",
    ]);
    expect(opEventsIn(rest).at(-1)).toMatchObject({ state: "cancelled" });
  });

  it("transport agent still needs agents, even when ssh is configured", () => {
    const { d, healthy } = cluster(sshConfig());
    d.health("db3", errant(healthy.db3!));
    const r = repliesIn(d.command("rebuild", { target: "db3" }))[0]!;
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_APPLICABLE" } });
    expect(!r.ok && r.error.message).toMatch(
      /no agentHost.*\(or use transport ssh, with ssh settings\)/,
    );
  });

  it("failover.autoRebuild goes over ssh for a target without an agent", () => {
    const config = sshConfig({
      failover: { ...makeConfig().failover, autoRebuild: true },
    });
    const { d, healthy } = cluster(config);
    const out = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(out).map((a) => a.request.host)).toEqual(["ssh:db3"]);
  });

  it("failover.autoRebuild prefers the agents when the target has one", () => {
    const config = sshConfig({ failover: { ...makeConfig().failover, autoRebuild: true } }, true);
    const d = new Driver(config);
    const healthy = healthyObservations(config);
    for (const s of config.servers) {
      d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat(s.agentHost!, s.name, true) });
    }
    d.round(healthy);
    const out = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(out).map((a) => a.request.host)).toEqual(["h3"]);
  });
});
