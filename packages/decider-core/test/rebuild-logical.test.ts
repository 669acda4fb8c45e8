import { AgentRequest, type AgentResult, type ServerObservation } from "@marina/contracts";
import { errorBody } from "@marina/contracts/parse";
import { describe, expect, it } from "vitest";
import {
  type AgentAction,
  agentsIn,
  answerSteps,
  Driver,
  healthyObservations,
  heartbeat,
  makeConfig,
  opEventsIn,
  repliesIn,
  stepsIn,
  summarize,
} from "./helpers.js";

// The logical rebuild (`method: "logical"`): the same phases as the physical one, with the
// agents asked for a dump (`method: "logical"` on receive-backup and send-backup); the
// attach is the same. Refusals are those of the physical rebuild.

const AGENTS = [
  { name: "db1", agentHost: "h1" },
  { name: "db2", agentHost: "h2" },
  { name: "db3", agentHost: "h3" },
];

function errant(o: ServerObservation): ServerObservation {
  return { ...o, readOnly: true, gtidBinlogPos: "0-3-101", gtidCurrentPos: "0-3-101" };
}

function cluster() {
  const config = makeConfig({ servers: AGENTS });
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  for (const s of config.servers) {
    d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat(s.agentHost!, s.name, true) });
  }
  d.round(healthy);
  d.health("db3", errant(healthy.db3!));
  return { d, config, healthy };
}

const result = (a: AgentAction, ok: boolean, data: Record<string, unknown>): AgentResult => ({
  host: a.request.host,
  opId: a.request.opId,
  ok,
  durationMs: 1,
  data,
  error: ok ? null : errorBody("TOOL_FAILED", "mariadb failed (exit 1): ERROR 1064"),
});

const feed = (d: Driver, a: AgentAction, via: "reply" | "done", r: AgentResult) =>
  d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via, result: r });

describe("logical rebuild", () => {
  it("receive → send → stream → attach with logical agent calls; db3 replicates from db1", () => {
    const { d } = cluster();
    const out = d.command("rebuild", { target: "db3", method: "logical" });
    const reply = repliesIn(out)[0]!;
    expect(reply).toMatchObject({ ok: true });
    const [receive] = agentsIn(out);
    expect(receive!.request.request).toEqual({
      action: "receive-backup",
      server: "db3",
      compression: { kind: "none" },
      tls: false,
      method: "logical",
    });
    // No stop of the target anywhere: the logical load needs it running.
    expect(agentsIn(d.log).map((a) => a.request.request.action)).toEqual(["receive-backup"]);
    expect(d.state.operation?.phase).toBe("receive");
    expect(opEventsIn(d.log).at(-1)?.message).toMatch(/wiping db3 .*listening for a dump/);

    const afterReceive = feed(
      d,
      receive!,
      "reply",
      result(receive!, true, { state: "running", address: "127.0.0.1", port: 4444 }),
    );
    const [send] = agentsIn(afterReceive);
    expect(send!.request.request).toEqual({
      action: "send-backup",
      server: "db2",
      compression: { kind: "none" },
      tls: false,
      to: { address: "127.0.0.1", port: 4444 },
      method: "logical",
    });
    feed(d, send!, "reply", result(send!, true, { state: "running" }));
    expect(d.state.operation?.phase).toBe("stream");
    expect(opEventsIn(d.log).at(-1)?.message).toMatch(/streaming a logical dump of db2/);

    feed(d, send!, "done", result(send!, true, { bytes: 5 }));
    const attach = feed(
      d,
      receive!,
      "done",
      result(receive!, true, {
        method: "logical",
        gtid: "0-1-100",
        bytes: 2 * 1048576,
        savedBinlogs: "/var/lib/marina-saved/db3-x",
      }),
    );
    const rest = answerSteps(d, attach);
    expect(stepsIn([...attach, ...rest]).map(summarize)).toEqual([
      "step db3 set-read-only true",
      "step db3 set-semi-sync",
      "step db3 reset-replication ''",
      "step db3 set-gtid-slave-pos 0-1-100",
      "step db3 change-master ''->db1",
      "step db3 start-replication ''",
      "step db3 verify-replicating ''",
    ]);
    const end = opEventsIn(rest).at(-1)!;
    expect(end).toMatchObject({ kind: "rebuild", state: "succeeded", phase: "attach" });
    expect(end.message).toMatch(
      /db3 rebuilt from db2 \(logical dump, 2\.0 MB loaded\) at 0-1-100; replicates from db1; its old binlogs were saved in \/var\/lib\/marina-saved\/db3-x$/,
    );
    expect(d.state.diverged.db3).toBeUndefined();
    for (const a of agentsIn(d.log)) AgentRequest.parse(a.request);
    expect(JSON.parse(JSON.stringify(d.state))).toEqual(d.state);
  });

  it("a physical rebuild sends no method (the agents' default) and keeps its plan unchanged", () => {
    const { d } = cluster();
    const out = d.command("rebuild", { target: "db3" });
    const [receive] = agentsIn(out);
    expect(receive!.request.request).not.toHaveProperty("method");
    expect(d.state.operation?.plan).not.toHaveProperty("method");
  });

  it("a failed load flags the target and fails the rebuild", () => {
    const { d } = cluster();
    const [receive] = agentsIn(d.command("rebuild", { target: "db3", method: "logical" }));
    const [send] = agentsIn(
      feed(
        d,
        receive!,
        "reply",
        result(receive!, true, { state: "running", address: "127.0.0.1", port: 4444 }),
      ),
    );
    feed(d, send!, "reply", result(send!, true, { state: "running" }));
    feed(d, send!, "done", result(send!, true, { bytes: 5 }));
    const out = feed(d, receive!, "done", result(receive!, false, {}));
    answerSteps(d, out);
    const end = opEventsIn(d.log).at(-1)!;
    expect(end.state).toBe("failed");
    expect(end.message).toMatch(/ERROR 1064; db3 stays flagged for a rebuild/);
    expect(d.state.diverged.db3).toBeDefined();
  });

  it("a load without a GTID position is not attached", () => {
    const { d } = cluster();
    const [receive] = agentsIn(d.command("rebuild", { target: "db3", method: "logical" }));
    const [send] = agentsIn(
      feed(
        d,
        receive!,
        "reply",
        result(receive!, true, { state: "running", address: "127.0.0.1", port: 4444 }),
      ),
    );
    feed(d, send!, "reply", result(send!, true, { state: "running" }));
    feed(d, send!, "done", result(send!, true, {}));
    const out = feed(d, receive!, "done", result(receive!, true, { gtid: "" }));
    expect(stepsIn(out).filter((s) => s.request.server === "db3")).toEqual([]);
    answerSteps(d, out);
    expect(opEventsIn(d.log).at(-1)).toMatchObject({
      state: "failed",
      error: { code: "INTERNAL" },
    });
  });

  it.each([
    ["the primary", { target: "db1", method: "logical" }, "REFUSED", "target"],
    ["a replica that replicates fine", { target: "db2", method: "logical" }, "REFUSED", "target"],
  ] as const)("refuses %s, and nothing is sent", (_what, payload, code, path) => {
    const { d } = cluster();
    const r = repliesIn(d.command("rebuild", payload))[0]!;
    expect(r).toMatchObject({ ok: false, error: { code, path } });
    expect(agentsIn(d.log)).toEqual([]);
    expect(d.state.operation).toBeNull();
  });
});
