import {
  type AgentProgress,
  AgentRequest,
  type AgentResult,
  type ErrorCode,
  type ServerObservation,
} from "@marina/contracts";
import { errorBody } from "@marina/contracts/parse";
import { describe, expect, it } from "vitest";
import type { Action, DeciderState } from "../src/index.js";
import {
  type AgentAction,
  agentsIn,
  conn,
  Driver,
  errResult,
  eventsIn,
  healthyObservations,
  heartbeat,
  makeConfig,
  okResult,
  opEventsIn,
  repliesIn,
  type StepAction,
  stepsIn,
  summarize,
  topologiesIn,
} from "./helpers.js";

// The rebuild operation: receive → send → stream → attach, driven through host agents;
// its refusals, the choice of source, cancel, failures, leader changes and auto-rebuild.

const AGENTS = [
  { name: "db1", agentHost: "h1" },
  { name: "db2", agentHost: "h2" },
  { name: "db3", agentHost: "h3" },
];

/** db1 primary, db2 and db3 replicas at 0-1-100, every server with an agent. */
function cluster(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig({ servers: AGENTS, ...over });
  const d = new Driver(config);
  const healthy = healthyObservations(config);
  beat(d);
  d.round(healthy);
  return { d, config, healthy };
}

/** Every agent of the config sends a heartbeat (mariadbd running). */
function beat(d: Driver) {
  for (const s of d.config.servers) {
    if (s.agentHost)
      d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat(s.agentHost, s.name, true) });
  }
}

/** db3 applied a transaction of its own (0-3-101) that db1 never had: ServerDiverged. */
function errant(o: ServerObservation): ServerObservation {
  return { ...o, readOnly: true, gtidBinlogPos: "0-3-101", gtidCurrentPos: "0-3-101" };
}

/** A replica whose SQL thread stopped with an error (not diverged, not fine either). */
function broken(config: ReturnType<typeof makeConfig>, o: ServerObservation): ServerObservation {
  return {
    ...o,
    replication: [
      conn(config, "db1", {
        gtidIoPos: "0-1-100",
        sqlThread: false,
        lastSqlErrno: 1062,
        lastSqlError: "dup",
      }),
    ],
  };
}

function accepted(a: AgentAction, data: Record<string, unknown> = {}): AgentResult {
  return {
    host: a.request.host,
    opId: a.request.opId,
    ok: true,
    durationMs: 1,
    data: { state: "running", ...data },
    error: null,
  };
}

function finalOk(a: AgentAction, data: Record<string, unknown> = {}): AgentResult {
  return { host: a.request.host, opId: a.request.opId, ok: true, durationMs: 5, data, error: null };
}

function finalErr(a: AgentAction, code: ErrorCode, message: string = code): AgentResult {
  return {
    host: a.request.host,
    opId: a.request.opId,
    ok: false,
    durationMs: 5,
    data: {},
    error: errorBody(code, message),
  };
}

function feedAgent(d: Driver, a: AgentAction, via: "reply" | "done", result: AgentResult) {
  return d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via, result });
}

/** Every agent request is a valid contract message carrying the leader's epoch. */
function checkAgentActions(d: Driver) {
  for (const a of agentsIn(d.log)) {
    AgentRequest.parse(a.request);
    expect(a.reason.length).toBeGreaterThan(0);
  }
}

function answerSteps(
  d: Driver,
  actions: Action[],
  answer: (s: StepAction["request"]) => ReturnType<typeof okResult> | null = (r) =>
    okResult(r.stepId),
): Action[] {
  const all: Action[] = [];
  const queue = stepsIn(actions);
  while (queue.length) {
    const s = queue.shift()!;
    const r = answer(s.request);
    if (r === null) continue;
    const out = d.result(s, r);
    all.push(...out);
    queue.push(...stepsIn(out));
  }
  return all;
}

/** A rebuild of a diverged db3 started by command, up to the receive request. */
function started(body: Record<string, unknown> = { target: "db3" }) {
  const c = cluster();
  c.d.health("db3", errant(c.healthy.db3!));
  const out = c.d.command("rebuild", body);
  const reply = repliesIn(out)[0]!;
  const [receive] = agentsIn(out);
  return { ...c, out, reply, receive: receive! };
}

/** ... through the send request (the target listens on 127.0.0.1:4444). */
function sending(body?: Record<string, unknown>) {
  const s = started(body);
  const out = feedAgent(
    s.d,
    s.receive,
    "reply",
    accepted(s.receive, { address: "127.0.0.1", port: 4444 }),
  );
  const [send] = agentsIn(out);
  return { ...s, send: send!, afterReceive: out };
}

/** ... into the stream phase (both accepted). */
function streaming(body?: Record<string, unknown>) {
  const s = sending(body);
  const out = feedAgent(s.d, s.send, "reply", accepted(s.send));
  return { ...s, afterSend: out };
}

describe("rebuild", () => {
  describe("refusals and the choice of source", () => {
    const refusal = (
      d: Driver,
      payload: Record<string, unknown>,
    ): { code: string; path?: string; message: string } => {
      const r = repliesIn(d.command("rebuild", payload))[0]!;
      expect(r.ok).toBe(false);
      return r.ok ? { code: "", message: "" } : r.error;
    };

    it.each([
      ["the primary", { target: "db1" }, "REFUSED", "target", /db1 is the primary/],
      ["a replica that replicates fine", { target: "db2" }, "REFUSED", "target", /replicates fine/],
      ["an unknown target", { target: "db9" }, "UNKNOWN_SERVER", "target", /db9/],
      ["an unknown source", { target: "db3", source: "db9" }, "UNKNOWN_SERVER", "source", /db9/],
      ["the target as source", { target: "db3", source: "db3" }, "REFUSED", "source", /same/],
    ] as const)("refuses %s, and nothing is sent", (_what, payload, code, path, message) => {
      const { d, healthy } = cluster();
      d.health("db3", errant(healthy.db3!));
      const e = refusal(d, payload);
      expect(e).toMatchObject({ code, path });
      expect(e.message).toMatch(message);
      expect(agentsIn(d.log)).toEqual([]);
      expect(
        stepsIn(d.log).filter((s) => s.request.opId.startsWith("op") && s.request.server !== "db3"),
      ).toEqual([]);
      expect(d.state.operation).toBeNull();
    });

    it("refuses a source that is neither the primary nor a healthy replica (a diverged one included)", () => {
      const { d, config, healthy } = cluster();
      d.round({ db2: errant({ ...healthy.db2!, serverId: 2 }), db3: broken(config, healthy.db3!) });
      expect(refusal(d, { target: "db3", source: "db2" })).toMatchObject({
        code: "REFUSED",
        path: "source",
      });
    });

    it("refuses when no primary is reachable to attach the target to", () => {
      const { d, config, healthy } = cluster();
      d.round({ db1: null, db3: broken(config, healthy.db3!) });
      expect(refusal(d, { target: "db3" })).toMatchObject({ code: "NOT_APPLICABLE" });
    });

    it("refuses a server in maintenance", () => {
      const { d, config, healthy } = cluster();
      d.health("db3", broken(config, healthy.db3!));
      d.command("set-maintenance", { server: "db3" });
      expect(refusal(d, { target: "db3" })).toMatchObject({ code: "REFUSED", path: "target" });
    });

    it("refuses without an agent on the target or the source, naming them", () => {
      const config = makeConfig({
        servers: [{ name: "db1", agentHost: "h1" }, { name: "db2" }, { name: "db3" }],
      });
      const d = new Driver(config);
      const healthy = healthyObservations(config);
      d.round({ ...healthy, db3: broken(config, healthy.db3!) });
      const e = refusal(d, { target: "db3" });
      expect(e.code).toBe("NOT_APPLICABLE");
      expect(e.message).toMatch(/db3 has no agentHost/);
      // The source chosen is the agent-hosted primary, since db2 has no agent.
      expect(e.message).toMatch(/would copy db1 to db3/);
    });

    it("refuses when an agent sends no recent heartbeat", () => {
      const { d, config, healthy } = cluster();
      d.advance(15_001);
      d.round({ ...healthy, db3: broken(config, healthy.db3!) });
      const e = refusal(d, { target: "db3" });
      expect(e.code).toBe("SERVER_UNREACHABLE");
      expect(e.message).toMatch(/no recent heartbeat from the agents h3 and h2/);
      beat(d);
      expect(repliesIn(d.command("rebuild", { target: "db3" }))[0]).toMatchObject({ ok: true });
    });

    it("a replica still replicating but flagged ServerDiverged may be rebuilt", () => {
      const { d, reply, receive } = started();
      expect(d.state.situations.db3).toContain("ServerDiverged");
      expect(reply).toMatchObject({ ok: true, opId: "op1" });
      expect(receive.request).toMatchObject({
        host: "h3",
        epoch: 1,
        request: {
          action: "receive-backup",
          server: "db3",
          compression: { kind: "none" },
          tls: false,
        },
      });
    });

    it("chooses the most advanced healthy replica with an agent, then the primary", () => {
      const { d, config, healthy } = cluster({
        servers: [...AGENTS, { name: "db4", agentHost: "h4" }],
      });
      const at = (pos: string, o: ServerObservation) => ({
        ...o,
        gtidCurrentPos: pos,
        gtidSlavePos: pos,
      });
      d.round({
        db3: broken(config, healthy.db3!),
        db4: at("0-1-100", { ...healthy.db2!, serverId: 4 }),
        db2: at("0-1-99", healthy.db2!),
      });
      expect(repliesIn(d.command("rebuild", { target: "db3" }))[0]).toMatchObject({ ok: true });
      expect(d.state.operation?.servers).toEqual({ target: "db3", source: "db4" });
    });

    it("one operation at a time", () => {
      const { d } = started();
      expect(repliesIn(d.command("rebuild", { target: "db2" }))[0]).toMatchObject({
        ok: false,
        error: { code: "OPERATION_IN_PROGRESS" },
      });
      expect(repliesIn(d.command("switchover", { target: "db2" }))[0]).toMatchObject({
        ok: false,
        error: { code: "OPERATION_IN_PROGRESS" },
      });
    });
  });

  describe("the plan", () => {
    it("receive → send → stream → attach, then db3 is a replica of the current primary", () => {
      const s = streaming({ target: "db3", compression: { kind: "pigz", level: 3 }, tls: true });
      const { d, send } = s;
      expect(send.request).toEqual({
        host: "h2",
        opId: `${s.reply.ok ? s.reply.opId : ""}-send`,
        epoch: 1,
        request: {
          action: "send-backup",
          server: "db2",
          compression: { kind: "pigz", level: 3 },
          tls: true,
          to: { address: "127.0.0.1", port: 4444 },
        },
      });
      expect(d.state.operation?.phase).toBe("stream");

      // Progress of the donor becomes the operation's progress.
      const progress: AgentProgress = {
        host: "h2",
        opId: send.request.opId,
        server: "db2",
        action: "send-backup",
        phase: "streaming",
        bytes: 10 * 1048576,
        totalBytes: 50 * 1048576,
        bytesPerSecond: 5 * 1048576,
        etaMs: 8000,
        elapsedMs: 2000,
      };
      const p = opEventsIn(
        d.feed({ kind: "agent-progress", opId: send.opId, key: send.key, progress }),
      );
      expect(p).toMatchObject([
        {
          state: "running",
          phase: "stream",
          progress: { bytes: 10 * 1048576, totalBytes: 50 * 1048576, etaMs: 8000 },
        },
      ]);
      // Progress of a call that is not ours is ignored.
      expect(
        d.feed({
          kind: "agent-progress",
          opId: send.opId,
          key: send.key,
          progress: { ...progress, opId: "other" },
        }),
      ).toEqual([]);

      // The final results, the donor's first; nothing happens until both are in.
      expect(stepsIn(feedAgent(d, send, "done", finalOk(send, { bytes: 1 })))).toEqual([]);
      const attach = feedAgent(
        d,
        s.receive,
        "done",
        finalOk(s.receive, { gtid: "0-1-100", bytes: 1048576 }),
      );
      expect(stepsIn(attach).map(summarize)).toEqual(["step db3 set-read-only true"]);
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
      const change = stepsIn(rest).find((x) => x.request.step.kind === "change-master")!;
      expect(change.request.step).toMatchObject({ useGtid: "slave_pos", source: "db1" });
      const end = opEventsIn(rest).at(-1)!;
      expect(end).toMatchObject({ kind: "rebuild", state: "succeeded", phase: "attach" });
      expect(end.message).toMatch(/db3 rebuilt from db2 .* at 0-1-100; replicates from db1/);
      expect(Object.keys(end.timings).sort()).toEqual([
        "attach",
        "receive",
        "send",
        "stream",
        "total",
      ]);
      expect(d.state.operation).toBeNull();
      expect(d.state.diverged.db3).toBeUndefined();
      expect(d.state.situations.db3 ?? []).not.toContain("ServerDiverged");
      const phases = opEventsIn(d.log).map((e) => e.phase);
      expect([...new Set(phases)]).toEqual(["start", "receive", "send", "stream", "attach"]);
      checkAgentActions(d);
      // The state stays plain JSON.
      expect(JSON.parse(JSON.stringify(d.state))).toEqual(d.state);
    });

    it("a final result that overtakes the early reply counts (and the late reply is ignored)", () => {
      const { d, send, receive } = sending();
      feedAgent(d, receive, "done", finalOk(receive, { gtid: "0-1-100" }));
      const out = feedAgent(d, send, "done", finalOk(send));
      expect(stepsIn(out).map(summarize)).toEqual(["step db3 set-read-only true"]);
      expect(d.state.operation?.phase).toBe("attach");
      expect(feedAgent(d, send, "reply", accepted(send))).toEqual([]);
    });

    it("attaches to the primary of the moment, not of the start", () => {
      const { d, send, receive } = streaming();
      // A switchover cannot run meanwhile; the state is what decides.
      d.state = { ...d.state, primary: "db2" } as DeciderState;
      feedAgent(d, send, "done", finalOk(send));
      const out = feedAgent(d, receive, "done", finalOk(receive, { gtid: "0-1-100" }));
      const all = [...out, ...answerSteps(d, out)];
      expect(
        stepsIn(all).find((x) => x.request.step.kind === "change-master")?.request.step,
      ).toMatchObject({
        source: "db2",
      });
    });

    it("results of another operation or call are ignored", () => {
      const { d, receive } = started();
      expect(
        d.feed({
          kind: "agent-result",
          opId: "op9",
          key: "receive",
          via: "reply",
          result: accepted(receive),
        }),
      ).toEqual([]);
      expect(
        d.feed({
          kind: "agent-result",
          opId: receive.opId,
          key: "receive",
          via: "reply",
          result: { ...accepted(receive), opId: "x" },
        }),
      ).toEqual([]);
      expect(d.state.operation?.phase).toBe("receive");
    });
  });

  describe("cancel and failures", () => {
    it("a cancel mid-stream cancels both agents, checks the donor, and leaves the target flagged", () => {
      const { d, send, receive, reply } = streaming();
      const opId = reply.ok ? reply.opId! : "";
      const out = d.command("cancel", { opId, reason: "by hand" });
      expect(repliesIn(out)[0]).toMatchObject({ ok: true, opId });
      const cancels = agentsIn(out);
      expect(cancels.map((a) => [a.request.host, a.request.request])).toEqual([
        ["h3", { action: "cancel", opId: receive.request.opId }],
        ["h2", { action: "cancel", opId: send.request.opId }],
      ]);
      // The target is flagged at once, with a reason and an event.
      expect(d.state.diverged.db3?.reason).toMatch(/failed \(CANCELLED\)/);
      // The long calls end (cancelled) and the cancels answer: the donor is checked.
      feedAgent(d, receive, "done", finalErr(receive, "CANCELLED"));
      feedAgent(d, send, "done", finalErr(send, "CANCELLED"));
      expect(
        stepsIn(feedAgent(d, cancels[0]!, "reply", finalOk(cancels[0]!, { state: "cancelled" }))),
      ).toEqual([]);
      const recover = feedAgent(
        d,
        cancels[1]!,
        "reply",
        finalOk(cancels[1]!, { state: "cancelled" }),
      );
      const rest = answerSteps(d, recover);
      expect(stepsIn([...recover, ...rest]).map(summarize)).toEqual([
        "step db2 start-replication ''",
        "step db2 verify-replicating ''",
      ]);
      const end = opEventsIn(rest).at(-1)!;
      expect(end).toMatchObject({ state: "cancelled", error: { code: "CANCELLED" } });
      expect(end.message).toMatch(/db3 stays flagged for a rebuild; db2 replicates again/);
      expect(d.state.operation).toBeNull();
      expect(d.state.rebuildFailures).toEqual({});
      const flagged = topologiesIn(d.log)
        .at(-1)
        ?.servers.find((s) => s.name === "db3");
      expect(flagged?.role).toBe("diverged");
      checkAgentActions(d);
    });

    it("a receive refused by the target's agent fails at once and leaves the target as it was", () => {
      const { d, receive } = started();
      const out = feedAgent(d, receive, "reply", finalErr(receive, "REFUSED", "datadir guard"));
      expect(agentsIn(out)).toEqual([]);
      expect(stepsIn(out)).toEqual([]);
      const end = opEventsIn(out).at(-1)!;
      expect(end).toMatchObject({ state: "failed", error: { code: "REFUSED" } });
      expect(end.message).toMatch(/db3 was not changed/);
      expect(d.state.diverged.db3).toBeUndefined();
    });

    it("a donor that cannot connect: the receiver is cancelled, the donor checked, the target flagged", () => {
      const { d, send } = sending();
      const out = feedAgent(d, send, "reply", finalErr(send, "TOOL_FAILED", "connection refused"));
      // send failed for good (nothing runs there); receive runs: cancel it only.
      expect(agentsIn(out).map((a) => [a.request.host, a.request.request.action])).toEqual([
        ["h3", "cancel"],
      ]);
      const recover = feedAgent(
        d,
        agentsIn(out)[0]!,
        "reply",
        finalOk(agentsIn(out)[0]!, { state: "cancelled" }),
      );
      expect(stepsIn(recover).map(summarize)).toEqual(["step db2 start-replication ''"]);
      const rest = answerSteps(d, recover);
      const end = opEventsIn(rest).at(-1)!;
      expect(end).toMatchObject({ state: "failed", error: { code: "TOOL_FAILED" } });
      expect(end.message).toMatch(/connection refused; db3 stays flagged/);
      expect(d.state.diverged.db3).toBeDefined();
      expect(
        eventsIn(d.log).some((e) => e.situation === "ServerDiverged" && e.server === "db3"),
      ).toBe(true);
    });

    it("a target that fails to restore ends the rebuild; a donor that does not replicate is reported", () => {
      const { d, send, receive } = streaming();
      const out = feedAgent(d, receive, "done", finalErr(receive, "TOOL_FAILED", "prepare failed"));
      const [cancelSend] = agentsIn(out);
      expect(cancelSend?.request.request).toEqual({ action: "cancel", opId: send.request.opId });
      const recover = feedAgent(
        d,
        cancelSend!,
        "reply",
        finalOk(cancelSend!, { state: "cancelled" }),
      );
      const rest = answerSteps(d, recover, (r) =>
        r.step.kind === "verify-replicating"
          ? errResult(r.stepId, "SQL_ERROR", "SQL thread stopped")
          : okResult(r.stepId),
      );
      const end = opEventsIn(rest).at(-1)!;
      expect(end.state).toBe("failed");
      expect(end.message).toMatch(
        /prepare failed; db3 stays flagged for a rebuild; db2 does NOT replicate: .*SQL thread stopped/,
      );
    });

    it("from the primary, a failure checks no replication on the donor", () => {
      const { d, send } = sending({ target: "db3", source: "db1" });
      const out = feedAgent(d, send, "reply", finalErr(send, "TOOL_FAILED"));
      const cancel = agentsIn(out)[0]!;
      const end = feedAgent(d, cancel, "reply", finalOk(cancel, { state: "cancelled" }));
      expect(stepsIn(end)).toEqual([]);
      expect(opEventsIn(end).at(-1)).toMatchObject({ state: "failed" });
    });

    it("a restore without a GTID position is not attached (it would replay from the first binlog)", () => {
      const { d, send, receive } = streaming();
      feedAgent(d, send, "done", finalOk(send));
      const out = feedAgent(d, receive, "done", finalOk(receive, { gtid: "" }));
      // Nothing on the target; the donor is only checked.
      expect(stepsIn(out).map(summarize)).toEqual(["step db2 start-replication ''"]);
      answerSteps(d, out);
      expect(opEventsIn(d.log).at(-1)).toMatchObject({
        state: "failed",
        error: { code: "INTERNAL" },
      });
      expect(d.state.diverged.db3).toBeDefined();
    });

    it("an attach that does not replicate fails and leaves the target flagged", () => {
      const { d, send, receive } = streaming();
      feedAgent(d, send, "done", finalOk(send));
      const out = feedAgent(d, receive, "done", finalOk(receive, { gtid: "0-1-100" }));
      const rest = answerSteps(d, out, (r) =>
        r.step.kind === "verify-replicating"
          ? errResult(r.stepId, "SQL_ERROR", "error 1236")
          : okResult(r.stepId),
      );
      const end = opEventsIn([...out, ...rest]).at(-1)!;
      expect(end.state).toBe("failed");
      expect(end.message).toMatch(/error 1236/);
      expect(d.state.diverged.db3).toBeDefined();
    });

    it("an agent that does not answer in time: cancelled there, the target flagged, the rebuild failed", () => {
      const { d, receive } = started();
      d.advance(receive.timeoutMs + 1_000);
      expect(agentsIn(d.feed({ kind: "tick" }))).toEqual([]);
      d.advance(1_001);
      const out = d.feed({ kind: "tick" });
      // The request may have reached the agent and run there.
      const [cancel] = agentsIn(out);
      expect(cancel?.request.request).toEqual({ action: "cancel", opId: receive.request.opId });
      expect(d.state.diverged.db3?.reason).toMatch(/TIMEOUT/);
      const end = feedAgent(d, cancel!, "reply", finalOk(cancel!, { state: "cancelled" }));
      expect(opEventsIn(end).at(-1)).toMatchObject({ state: "failed", error: { code: "TIMEOUT" } });
    });

    it("no agent serving the host: sent again a bounded number of times, then refused untouched", () => {
      const { d, receive } = started();
      const unreachable = (): AgentResult =>
        finalErr(receive, "SERVER_UNREACHABLE", "no agent serves host h3");
      const second = agentsIn(feedAgent(d, receive, "reply", unreachable()));
      expect(second.map((a) => a.request.opId)).toEqual([receive.request.opId]);
      const third = agentsIn(feedAgent(d, second[0]!, "reply", unreachable()));
      expect(third.map((a) => a.request.opId)).toEqual([receive.request.opId]);
      const end = feedAgent(d, third[0]!, "reply", unreachable());
      expect(agentsIn(end)).toEqual([]);
      expect(opEventsIn(end).at(-1)).toMatchObject({
        state: "failed",
        error: { code: "SERVER_UNREACHABLE" },
      });
      expect(d.state.diverged.db3).toBeUndefined();
    });

    it("a stream past its deadline is cancelled", () => {
      const { d } = streaming();
      d.advance(7 * 3600_000 + 1);
      const out = d.feed({ kind: "tick" });
      expect(agentsIn(out).map((a) => a.request.request.action)).toEqual(["cancel", "cancel"]);
      expect(opEventsIn(out).at(-1)).toMatchObject({ state: "running", phase: "abort" });
      expect(d.state.operation?.error?.code).toBe("TIMEOUT");
    });
  });

  describe("a failing primary", () => {
    it("pre-empts a running rebuild: it is cancelled and the failover starts after it", () => {
      const { d, config, healthy, send, receive } = streaming();
      d.advance(500);
      const lost = conn(config, "db1", {
        gtidIoPos: "0-1-100",
        ioThread: "Connecting",
        secondsBehindMaster: null,
        quietMs: 10_000,
      });
      const out = d.round({ db1: null, db3: null, db2: { ...healthy.db2!, replication: [lost] } });
      const cancels = agentsIn(out);
      expect(cancels.map((a) => a.request.request)).toEqual([
        { action: "cancel", opId: receive.request.opId },
        { action: "cancel", opId: send.request.opId },
      ]);
      expect(d.state.operation?.error?.message).toMatch(/db1 failed: a failover comes before/);
      feedAgent(d, cancels[0]!, "reply", finalOk(cancels[0]!, { state: "cancelled" }));
      const recover = feedAgent(
        d,
        cancels[1]!,
        "reply",
        finalOk(cancels[1]!, { state: "cancelled" }),
      );
      // No verify of the donor's replication: its primary is gone.
      expect(stepsIn(recover).map(summarize)).toEqual(["step db2 start-replication ''"]);
      const after = answerSteps(d, recover);
      expect(opEventsIn(after).map((e) => `${e.kind} ${e.state}`)).toContain("rebuild cancelled");
      const next = d.round({ db1: null, db3: null, db2: { ...healthy.db2!, replication: [lost] } });
      expect(opEventsIn([...after, ...next]).find((e) => e.kind === "failover")).toMatchObject({
        state: "running",
        servers: { failed: "db1", candidate: "db2" },
      });
    });

    it("does not pre-empt when automatic failover is off", () => {
      const c = cluster({ failover: { auto: false } });
      c.d.health("db3", errant(c.healthy.db3!));
      c.d.command("rebuild", { target: "db3" });
      c.d.advance(500);
      const lost = conn(c.config, "db1", {
        ioThread: "Connecting",
        secondsBehindMaster: null,
        quietMs: 10_000,
      });
      const out = c.d.round({
        db1: null,
        db3: null,
        db2: { ...c.healthy.db2!, replication: [lost] },
      });
      expect(c.d.state.situations.db1).toContain("PrimaryDead");
      expect(agentsIn(out)).toEqual([]);
      expect(c.d.state.operation?.kind).toBe("rebuild");
    });
  });

  describe("leadership", () => {
    it("a follower feeds nothing and sends nothing", () => {
      const { d, receive } = started();
      d.leader = false;
      expect(
        feedAgent(d, receive, "reply", accepted(receive, { address: "127.0.0.1", port: 1 })),
      ).toEqual([]);
      expect(d.state.operation?.phase).toBe("receive");
    });

    it("a new leader asks the agents again for the calls in flight, under its epoch", () => {
      const { d, send, receive } = streaming();
      const d2 = new Driver(d.config, {}, d.now);
      d2.state = JSON.parse(JSON.stringify(d.state)) as DeciderState;
      d2.epoch = 2;
      const resent = agentsIn(d2.feed({ kind: "resume" }));
      expect(resent.map((a) => [a.request.opId, a.request.epoch])).toEqual([
        [receive.request.opId, 2],
        [send.request.opId, 2],
      ]);
      // An agent answers a repeated id with its final result: the plan goes on.
      feedAgent(d2, resent[1]!, "reply", finalOk(send));
      const out = feedAgent(d2, resent[0]!, "reply", finalOk(receive, { gtid: "0-1-100" }));
      expect(stepsIn(out).map((s) => s.request.epoch)).toEqual([2]);
    });
  });

  describe("failover.autoRebuild", () => {
    it("rebuilds a diverged replica without a command, one at a time", () => {
      const { d, healthy } = cluster({ failover: { autoRebuild: true } });
      const out = d.round({
        db3: errant(healthy.db3!),
        db2: errant({
          ...healthy.db2!,
          serverId: 2,
          gtidBinlogPos: "0-2-101",
          gtidCurrentPos: "0-2-101",
        }),
      });
      const ops = opEventsIn(out).filter((e) => e.state === "running" && e.phase === "start");
      expect(ops).toHaveLength(1);
      expect(ops[0]).toMatchObject({ kind: "rebuild", servers: { target: "db3", source: "db2" } });
      expect(ops[0]?.message).toMatch(/failover.autoRebuild: db3 diverged/);
      expect(agentsIn(out).map((a) => a.request.host)).toEqual(["h3"]);
      expect(d.state.situations.db2).toContain("ServerDiverged");
    });

    it("does nothing when off", () => {
      const { d, healthy } = cluster();
      const out = d.health("db3", errant(healthy.db3!));
      expect(opEventsIn(out)).toEqual([]);
      expect(agentsIn(out)).toEqual([]);
    });

    it("backs off after a failed automatic rebuild", () => {
      const { d, healthy } = cluster({ failover: { autoRebuild: true } });
      const out = d.health("db3", errant(healthy.db3!));
      const receive = agentsIn(out)[0]!;
      feedAgent(d, receive, "reply", finalErr(receive, "TOOL_FAILED", "stop failed"));
      const cancel = agentsIn(d.log).at(-1)!;
      feedAgent(d, cancel, "reply", finalOk(cancel, { state: "failed" }));
      expect(d.state.operation).toBeNull();
      expect(d.state.rebuildFailures.db3).toBe(d.now);
      // Flagged (its datadir was touched), stopped, and left alone for rebuildRetryMs.
      expect(d.state.diverged.db3).toBeDefined();
      const later = { db1: healthy.db1!, db2: healthy.db2!, db3: null };
      d.advance(1_000);
      expect(agentsIn(d.round(later))).toEqual([]);
      d.advance(600_000);
      beat(d);
      const again = d.round(later);
      expect(opEventsIn(again)[0]).toMatchObject({ kind: "rebuild", servers: { target: "db3" } });
    });
  });
});
