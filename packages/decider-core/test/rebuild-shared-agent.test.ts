import type { AgentHeartbeat, AgentResult, ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  type AgentAction,
  agentsIn,
  answerSteps,
  Driver,
  healthyObservations,
  makeConfig,
  opEventsIn,
  repliesIn,
  stepsIn,
  summarize,
} from "./helpers.js";

// Servers on hosts reached over SSH are served by one agent in SSH mode: several servers
// name the same agentHost. The core sends every call to that host id, whichever end of the
// rebuild it serves, and waits for that one agent's heartbeat; it knows no other transport.

const SSH_AGENT = "h-ssh";

function config(autoRebuild = false) {
  const base = makeConfig({
    servers: [
      { name: "db1", agentHost: "h1" },
      { name: "db2", agentHost: SSH_AGENT },
      { name: "db3", agentHost: SSH_AGENT },
    ],
  });
  return { ...base, failover: { ...base.failover, autoRebuild } };
}

/** The SSH agent's heartbeat: one message listing every server it serves. */
function sharedHeartbeat(): AgentHeartbeat {
  return {
    host: SSH_AGENT,
    agentVersion: "0.1.0",
    uptimeMs: 1000,
    servers: ["db2", "db3"].map((name) => ({
      name,
      datadir: `/tmp/${name}`,
      mariadbdRunning: true,
      pid: 100,
    })),
    tools: {},
    busy: [],
  };
}

function cluster(o: { autoRebuild?: boolean; beat?: boolean } = {}) {
  const d = new Driver(config(o.autoRebuild));
  const healthy = healthyObservations(d.config);
  if (o.beat ?? true) d.feed({ kind: "agent-heartbeat", heartbeat: sharedHeartbeat() });
  d.round(healthy);
  return { d, healthy };
}

function errant(o: ServerObservation): ServerObservation {
  return { ...o, readOnly: true, gtidBinlogPos: "0-3-101", gtidCurrentPos: "0-3-101" };
}

function ok(a: AgentAction, data: Record<string, unknown>): AgentResult {
  return { host: a.request.host, opId: a.request.opId, ok: true, durationMs: 1, data, error: null };
}

function feed(d: Driver, a: AgentAction, via: "reply" | "done", r: AgentResult) {
  return d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via, result: r });
}

describe("rebuild through an agent serving several servers (SSH mode)", () => {
  it.each([
    ["physical", {}],
    ["logical", { method: "logical" }],
  ] as const)("a %s rebuild sends both calls to that agent's host id", (method, extra) => {
    const { d, healthy } = cluster();
    d.health("db3", errant(healthy.db3!));
    const out = d.command("rebuild", { target: "db3", source: "db2", ...extra });
    expect(repliesIn(out)[0], JSON.stringify(repliesIn(out)[0])).toMatchObject({ ok: true });
    const [receive] = agentsIn(out);
    expect(receive?.request).toMatchObject({
      host: SSH_AGENT,
      request: { action: "receive-backup", server: "db3" },
    });
    const afterReceive = feed(
      d,
      receive!,
      "reply",
      ok(receive!, { state: "running", address: "127.0.0.1", port: 4444 }),
    );
    const [send] = agentsIn(afterReceive);
    expect(send?.request).toMatchObject({
      host: SSH_AGENT,
      request: { action: "send-backup", server: "db2", to: { address: "127.0.0.1", port: 4444 } },
    });
    if (method === "logical") {
      expect(receive?.request.request).toMatchObject({ method: "logical" });
      expect(send?.request.request).toMatchObject({ method: "logical" });
    }
    // One agent, two calls: each under its own agent-side id.
    expect(send!.request.opId).not.toBe(receive!.request.opId);
    feed(d, send!, "reply", ok(send!, { state: "running" }));
    feed(d, send!, "done", ok(send!, {}));
    const attach = feed(d, receive!, "done", ok(receive!, { gtid: "0-1-100" }));
    const rest = answerSteps(d, attach);
    expect(stepsIn([...attach, ...rest]).map(summarize)).toContain(
      "step db3 set-gtid-slave-pos 0-1-100",
    );
    expect(opEventsIn(rest).at(-1)).toMatchObject({ kind: "rebuild", state: "succeeded" });
  });

  it("without that agent's heartbeat: refused once, naming the host", () => {
    const { d, healthy } = cluster({ beat: false });
    d.health("db3", errant(healthy.db3!));
    const r = repliesIn(d.command("rebuild", { target: "db3", source: "db2" }))[0]!;
    expect(r).toMatchObject({ ok: false, error: { code: "SERVER_UNREACHABLE" } });
    expect(!r.ok && r.error.message).toMatch(/no recent heartbeat from the agent h-ssh;/);
    expect(d.state.operation).toBeNull();
  });

  it("failover.autoRebuild goes through the same agent", () => {
    const { d, healthy } = cluster({ autoRebuild: true });
    const out = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(out).map((a) => [a.request.host, a.request.request.action])).toEqual([
      [SSH_AGENT, "receive-backup"],
    ]);
  });
});
