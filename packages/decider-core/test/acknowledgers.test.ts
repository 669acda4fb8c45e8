import type { AgentResult } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type AcknowledgerInput, acknowledgersSettled } from "../src/index.js";
import {
  type AgentAction,
  agentsIn,
  Driver,
  heartbeat,
  makeConfig,
  opEventsIn,
  situationsIn,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

// The rule "no replica left acknowledging the old primary" (acknowledgers.ts): a table of
// cases for the pure rule, then the split {db1 + db3} | {Marina + db2} played through the
// decider: without an agent for db1 the failover is refused (both sides could acknowledge
// writes); with db1's agent answering, db1 is killed (STONITH) and db2 promoted; a STONITH
// that fails stops the failover before the promotion.

describe("acknowledgersSettled", () => {
  const base: AcknowledgerInput = {
    failed: "db1",
    semiSync: true,
    oldPrimary: "unknown",
    maybeAcknowledging: [{ server: "db3", why: "unreachable" }],
  };
  const cases: Array<[string, Partial<AcknowledgerInput>, boolean, RegExp]> = [
    [
      "an unreachable semi-sync replica, old primary unknown",
      {},
      false,
      /db3 \(unreachable\) may still acknowledge db1's writes/,
    ],
    ["no semi-sync: nothing acknowledges", { semiSync: false }, true, /no semi-sync/],
    [
      "every replica detached",
      { maybeAcknowledging: [] },
      true,
      /no replica can still acknowledge db1/,
    ],
    ["old primary killed by STONITH", { oldPrimary: "killed" }, true, /STONITH/],
    ["old primary refusing every connection", { oldPrimary: "down" }, true, /refused/],
    ["old primary fenced", { oldPrimary: "fenced" }, true, /fenced/],
    [
      "its agent answers: STONITH before the promotion",
      { oldPrimary: "stonith-possible" },
      true,
      /killed \(STONITH\) before the promotion/,
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
  it("without an agent for db1: no failover starts; FailoverBlocked names db3", () => {
    const { d, w, cycle } = split(false);
    const all = [];
    for (let i = 0; i < 12; i++) all.push(...cycle());
    expect(opEventsIn(all)).toEqual([]);
    expect(d.state.primary).toBe("db1");
    const blocked = all.find((a) => a.kind === "event" && a.event.situation === "FailoverBlocked");
    expect(blocked && blocked.kind === "event" ? blocked.event.reason : "").toMatch(
      /db3 \(not detachable now, last seen as a semi-sync replica of it\) may still acknowledge db1's writes/,
    );
    expect(w.writable()).toEqual([]); // db1 frozen, nobody else writable
  });

  it("with db1's agent answering: STONITH while db2 drains, then db2 is promoted", () => {
    const { d, w, cycle } = split(true);
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
    expect(last?.message).toMatch(
      /promoted because db1 cannot acknowledge writes: its mariadbd was killed \(STONITH\)/,
    );
    expect(d.state.primary).toBe("db2");
    expect(situationsIn(all).filter((s) => s.startsWith("FailoverBlocked"))).toEqual([]);
  });

  it("a replica whose every connection is refused (mariadbd down) acknowledges nothing: the failover goes on without an agent", () => {
    const { d, w, cycle } = split(false);
    w.hidden.delete("db3");
    w.kill("db3"); // refused, not timed out
    const all = [];
    for (let i = 0; i < 12; i++) all.push(...cycle());
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(d.state.primary).toBe("db2");
  });

  it("a replica no monitor reported lately is detached by the failover when the executors reach it", () => {
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

  it("a STONITH that fails stops the failover before the promotion, and undoes it", () => {
    const { d, w, cycle } = split(true);
    let stonith: AgentAction | undefined;
    for (let i = 0; i < 12 && !stonith; i++) {
      stonith = agentsIn(cycle()).find((x) => x.request.request.action === "kill-server");
    }
    expect(stonith).toBeDefined();
    // Every attempt fails (a retryable error is sent again, up to the attempt limit).
    const rest = [];
    for (let n = 0; stonith && n < 10; n++) {
      const after = answer(d, stonith, false);
      const more = [...after, ...w.serve(d, after)];
      rest.push(...more);
      stonith = agentsIn(more).find((x) => x.request.request.action === "kill-server");
      if (!stonith) {
        // A resend may wait for the next tick.
        d.advance(1000);
        const t = d.feed({ kind: "tick" });
        rest.push(...t, ...w.serve(d, t));
        stonith = agentsIn(t).find((x) => x.request.request.action === "kill-server");
      }
    }
    const events = opEventsIn(rest);
    expect(events.at(-1)).toMatchObject({ kind: "failover", state: "failed" });
    expect(events.at(-1)?.message).toMatch(/db3 .* may still acknowledge db1's writes/);
    expect(rest.some((a) => a.kind === "event" && a.event.situation === "FailoverBlocked")).toBe(
      true,
    );
    expect(w.writable()).toEqual([]);
    expect(d.state.primary).toBe("db1");
  });
});
