import type { AgentResult, ExecRequest } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type AcknowledgerInput, acknowledgersSettled } from "../src/index.js";
import {
  type AgentAction,
  agentsIn,
  Driver,
  errResult,
  heartbeat,
  makeConfig,
  opEventsIn,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

// The rule "no replica left acknowledging the old primary" (acknowledgers.ts): a table of
// cases for the pure rule, then the split {db1 + db3} | {Marina + db2} played through the
// decider: the failover is refused with or without db1's agent (db3 may hold writes db1
// acknowledged that db2 lacks — killing db1 does not bring them back), a replica down since
// before the primary was last seen does not hold the failover back, and a replica whose
// STOP SLAVE fails stops it before the promotion.

describe("acknowledgersSettled", () => {
  const base: AcknowledgerInput = {
    failed: "db1",
    semiSync: true,
    maybeAcknowledging: [{ server: "db3", why: "unreachable" }],
  };
  const cases: Array<[string, Partial<AcknowledgerInput>, boolean, RegExp]> = [
    [
      "an unreachable semi-sync replica",
      {},
      false,
      /db3 \(unreachable\) may hold writes db1 acknowledged that no reachable server has/,
    ],
    ["no semi-sync: nothing acknowledges", { semiSync: false }, true, /no semi-sync/],
    [
      "every replica seen",
      { maybeAcknowledging: [] },
      true,
      /every replica that could hold or give db1's acknowledgements was seen/,
    ],
    [
      "two replicas, both unsettled",
      {
        maybeAcknowledging: [
          { server: "db2", why: "its STOP SLAVE did not succeed" },
          { server: "db3", why: "unreachable" },
        ],
      },
      false,
      /db2 \(its STOP SLAVE did not succeed\), db3 \(unreachable\)/,
    ],
  ];
  it.each(cases)("%s", (_name, over, ok, reason) => {
    const v = acknowledgersSettled({ ...base, ...over });
    expect(v.ok).toBe(ok);
    expect(v.reason).toMatch(reason);
    if (!v.ok) expect(v.servers.length).toBeGreaterThan(0);
  });
});

function split(agentForDb1: boolean) {
  const config = makeConfig({
    semiSync: true,
    servers: [
      { name: "db1", agentHost: agentForDb1 ? "h1" : undefined },
      { name: "db2" },
      { name: "db3" },
    ].map((s) => (s.agentHost ? s : { name: s.name })),
  });
  const d = new Driver(config);
  const w = new World(config, T0);
  w.s("db1").semiMaster = true;
  for (const r of ["db2", "db3"]) w.s(r).semiSlave = true;
  const beat = () =>
    agentForDb1 ? d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat("h1", "db1", true) }) : [];
  const cycle = (ms = 500) => {
    d.advance(ms);
    w.advance(ms);
    const a = [...beat(), ...w.observe(d)];
    return [...a, ...w.serve(d, a)];
  };
  cycle(0);
  cycle();
  // The split: Marina loses db1 and db3; db2 loses db1. db3 (last seen as db1's semi-sync
  // replica) may still acknowledge db1's writes.
  w.freeze("db1");
  w.hidden.add("db3");
  return { d, w, cycle };
}

function answer(d: Driver, a: AgentAction, ok: boolean, data: Record<string, unknown> = {}) {
  const result: AgentResult = {
    host: a.request.host,
    opId: a.request.opId,
    ok,
    durationMs: 5,
    data,
    error: ok ? null : { code: "TIMEOUT", message: "no reply", retryable: true },
  };
  return d.feed({ kind: "agent-result", opId: a.opId, key: a.key, via: "reply", result });
}

describe("the split {db1 + db3} | {Marina + db2}", () => {
  for (const agent of [false, true]) {
    it(`${agent ? "with" : "without"} an agent answering for db1: no failover starts; FailoverBlocked names db3`, () => {
      const { d, w, cycle } = split(agent);
      const all = [];
      for (let i = 0; i < 12; i++) all.push(...cycle());
      expect(opEventsIn(all)).toEqual([]);
      expect(agentsIn(all)).toEqual([]); // nothing killed either
      expect(d.state.primary).toBe("db1");
      const blocked = all.find(
        (a) => a.kind === "event" && a.event.situation === "FailoverBlocked",
      );
      expect(blocked && blocked.kind === "event" ? blocked.event.reason : "").toMatch(
        /db3 \(not reachable now, a semi-sync replica of it when last seen\) may hold writes db1 acknowledged/,
      );
      expect(w.writable()).toEqual([]); // db1 frozen, nobody else writable
    });
  }

  it("db3 down since before db1 was last seen holds nothing db2 lacks: the failover goes on, db1 killed first", () => {
    const { d, w, cycle } = split(true);
    // Undo the split: db3 died a while before db1 froze.
    w.hidden.delete("db3");
    w.restart("db1", false);
    w.kill("db3");
    for (let i = 0; i < 4; i++) cycle();
    w.freeze("db1");
    let stonith: AgentAction | undefined;
    const all = [];
    for (let i = 0; i < 12 && !stonith; i++) {
      const a = cycle();
      all.push(...a);
      stonith = agentsIn(a).find((x) => x.request.request.action === "kill-server");
    }
    expect(stonith?.request).toMatchObject({
      host: "h1",
      request: { action: "kill-server", server: "db1" },
    });
    w.kill("db1");
    const after = answer(d, stonith!, true, {
      action: "kill-server",
      server: "db1",
      killed: true,
      pid: 100,
    });
    const rest = [...after, ...w.serve(d, after)];
    const last = opEventsIn(rest).at(-1);
    expect(last).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(last?.message).toMatch(/STONITH through h1: db1's mariadbd killed/);
    expect(d.state.primary).toBe("db2");
  });

  it("db3 lost at the same moment as db1 (both down): no failover — db3 may hold what db2 lacks", () => {
    const { d, w, cycle } = split(false);
    w.hidden.delete("db3");
    w.kill("db3"); // refused, but down only since db1 was last seen
    const all = [];
    for (let i = 0; i < 12; i++) all.push(...cycle());
    expect(opEventsIn(all)).toEqual([]);
    expect(d.state.primary).toBe("db1");
  });

  it("a replica whose STOP SLAVE fails stops the failover before the promotion, and it is undone", () => {
    const { d, w } = split(false);
    w.hidden.delete("db3"); // reachable: the failover starts and detaches it
    const failDetach = (req: ExecRequest, result: ReturnType<World["exec"]>) =>
      req.server === "db3" && req.step.kind === "stop-replication"
        ? errResult(req.stepId, "SQL_ERROR", "1198 denied")
        : result;
    const all = [];
    for (let i = 0; i < 12; i++) {
      d.advance(500);
      w.advance(500);
      const a = w.observe(d);
      all.push(...a, ...w.serve(d, a, failDetach));
    }
    const failed = opEventsIn(all).find((e) => e.kind === "failover" && e.state === "failed");
    expect(failed?.message).toMatch(/db3 \(its STOP SLAVE did not succeed\)/);
    expect(all.some((a) => a.kind === "event" && a.event.situation === "FailoverBlocked")).toBe(
      true,
    );
    expect(w.writable()).toEqual([]);
    expect(d.state.primary).toBe("db1");
  });
});

describe("a replica no monitor reported lately", () => {
  it("is detached by the failover when the executors reach it", () => {
    const config = makeConfig({ semiSync: true });
    const d = new Driver(config);
    const w = new World(config, T0);
    w.s("db1").semiMaster = true;
    for (const r of ["db2", "db3"]) w.s(r).semiSlave = true;
    let sampled = ["db1", "db2", "db3"];
    const cycle = (ms = 500) => {
      d.advance(ms);
      w.advance(ms);
      const a = sampled.flatMap((n) => d.feed({ kind: "health", sample: w.sampleOf(n) }));
      return [...a, ...w.serve(d, a)];
    };
    cycle(0);
    cycle();
    // The monitor that covers db3 falls silent: its samples go stale (reachability unknown).
    sampled = ["db1", "db2"];
    for (let i = 0; i < 16; i++) cycle();
    w.freeze("db1");
    const all = [];
    for (let i = 0; i < 12; i++) all.push(...cycle());
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(w.executed.some((r) => r.server === "db3" && r.step.kind === "stop-replication")).toBe(
      true,
    );
  });
});
