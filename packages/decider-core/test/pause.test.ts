// Pause and resume (cmd.pause / cmd.resume): while paused the leader reports what it sees
// and runs commands but starts nothing on its own; resumed, it does what it held back.
import { describe, expect, it } from "vitest";
import type { Action } from "../src/index.js";
import {
  Driver,
  eventsIn,
  makeConfig,
  opEventsIn,
  repliesIn,
  situationsIn,
  stepsIn,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

function setup(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig(over);
  const d = new Driver(config);
  const w = new World(config, T0);
  /** Samples everyone, then serves every step that leads to. */
  const cycle = (ms = 500) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a)];
  };
  cycle(0);
  const cycles = (n: number) => {
    const out: Action[] = [];
    for (let i = 0; i < n; i++) out.push(...cycle());
    return out;
  };
  /** A command, and every step it leads to served. */
  const command = (verb: Parameters<Driver["command"]>[0], payload: unknown = {}) => {
    const a = d.command(verb, payload);
    return [...a, ...w.serve(d, a)];
  };
  return { config, d, w, cycle, cycles, command };
}

/** What was started and sent: operations, and steps (in or outside them). */
function automatic(actions: Action[]): string[] {
  return [
    ...opEventsIn(actions)
      .filter((e) => e.state === "running" && e.phase === "")
      .map((e) => `${e.kind}`),
    ...stepsIn(actions).map((s) => `${s.request.step.kind} ${s.request.server}`),
  ];
}

describe("pause and resume", () => {
  it("pausing replies, records who and why, and says it once as a Paused event", () => {
    const { d, command, cycles } = setup();
    const a = command("pause", { reason: "network work", requestedBy: "ops@laptop" });
    expect(repliesIn(a)[0]).toMatchObject({
      ok: true,
      verb: "pause",
      data: { paused: true, changed: true },
    });
    expect(d.state.paused).toEqual({ since: d.now, reason: "network work", by: "ops@laptop" });
    const paused = eventsIn(a).filter((e) => e.situation === "Paused");
    expect(paused).toEqual([
      expect.objectContaining({
        server: null,
        details: { reason: "network work", requestedBy: "ops@laptop", since: d.now },
      }),
    ]);
    expect(paused[0]?.reason).toMatch(/automation paused .* by ops@laptop \(network work\)/);
    // Not again on later samples, and the tag stays while paused.
    expect(situationsIn(cycles(3))).not.toContain("Paused *");
    expect(d.state.situations["*"]).toContain("Paused");
  });

  it("is idempotent both ways: the first pause is kept, resuming a running cluster says so", () => {
    const { d, command } = setup();
    command("pause", { reason: "first" });
    const since = d.state.paused?.since;
    d.advance(1000);
    const again = command("pause", { reason: "second" });
    expect(repliesIn(again)[0]).toMatchObject({ ok: true, data: { changed: false } });
    expect(repliesIn(again)[0]?.ok && repliesIn(again)[0]).toMatchObject({
      message: expect.stringMatching(/already paused.*\(first\)/),
    });
    expect(d.state.paused).toMatchObject({ since, reason: "first" });
    expect(eventsIn(again)).toEqual([]);
    const resumed = command("resume", { requestedBy: "ops@laptop" });
    expect(repliesIn(resumed)[0]).toMatchObject({ ok: true, data: { changed: true } });
    expect(eventsIn(resumed)).toEqual([
      expect.objectContaining({
        situation: "Resumed",
        details: { reason: "resumed by command", requestedBy: "ops@laptop", pausedForMs: 1000 },
      }),
    ]);
    expect(d.state.paused).toBeNull();
    expect(repliesIn(command("resume"))[0]).toMatchObject({
      ok: true,
      message: "main was not paused",
      data: { changed: false },
    });
  });

  it("a dead primary is not failed over while paused: reported and blocked; resumed, it is", () => {
    const { d, w, command, cycles } = setup();
    command("pause", { reason: "drill" });
    w.kill("db1");
    const held = cycles(6);
    expect(automatic(held)).toEqual([]);
    expect(situationsIn(held)).toEqual(expect.arrayContaining(["PrimaryDead db1"]));
    expect(d.state.situations.db1).toContain("FailoverBlocked:paused");
    expect(d.state.primary).toBe("db1");
    const status = repliesIn(command("status"))[0];
    expect(status?.ok && status.data?.paused).toMatchObject({
      reason: "drill",
      by: null,
      held: [expect.stringMatching(/^failover of db1: /)],
    });
    // Manual commands still run: a failover by command would go now; instead resume.
    const after = [...command("resume"), ...cycles(2)];
    expect(opEventsIn(after).at(-1)).toMatchObject({ kind: "failover", state: "succeeded" });
    expect(d.state.primary).not.toBe("db1");
  });

  it("a former primary that comes back writable while paused is fenced, not rejoined", () => {
    const { d, w, command, cycles } = setup();
    w.kill("db1");
    cycles(8);
    const primary = d.state.primary;
    expect(primary).not.toBe("db1");
    command("pause", { reason: "incident" });
    w.restart("db1", false); // its my.cnf says read_only=0
    const held = cycles(4);
    const steps = stepsIn(held).map((s) => `${s.request.step.kind} ${s.request.server}`);
    expect(steps).toContain("fence db1");
    expect(steps.filter((x) => !x.startsWith("fence"))).toEqual([]);
    expect(opEventsIn(held).filter((e) => e.kind === "rejoin")).toEqual([]);
    expect(w.writable()).toEqual([primary]);
    // Resumed: the rejoin it held back.
    const after = [...command("resume"), ...cycles(6)];
    expect(opEventsIn(after).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
  });

  // Each automatic path, held while paused and taken once resumed.
  it.each([
    [
      "a writable replica is not fenced",
      (w: World) => {
        w.s("db2").readOnly = false;
      },
      "fence db2",
    ],
    [
      "writes are not turned back on on a read-only primary",
      (w: World) => {
        w.s("db1").readOnly = true;
      },
      "set-read-only db1",
    ],
  ])("paused: %s; resumed, it is done", (_what, change, expected) => {
    const { d, w, command, cycles } = setup();
    command("pause");
    change(w);
    const held = cycles(4);
    expect(automatic(held)).toEqual([]);
    const status = repliesIn(command("status"))[0];
    const pausedData = status?.ok
      ? (status.data?.paused as { held: string[] } | undefined)
      : undefined;
    expect(pausedData?.held).toHaveLength(1);
    const resumed = [...command("resume"), ...cycles(2)];
    expect(automatic(resumed)).toContain(expected);
    void d;
  });

  it("an automatic rejoin waits for the resume", () => {
    const { d, w, cycles, command } = setup();
    w.kill("db1");
    cycles(3);
    const newPrimary = d.state.primary;
    expect(newPrimary).not.toBe("db1");
    command("pause");
    w.restart("db1", true);
    const held = cycles(4);
    expect(opEventsIn(held).filter((e) => e.kind === "rejoin")).toEqual([]);
    const resumed = [...command("resume"), ...cycles(3)];
    expect(opEventsIn(resumed).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
  });

  it("commands run while paused: a switchover starts and finishes", () => {
    const { d, command, cycles } = setup();
    command("pause");
    const a = command("switchover", { target: "db2" });
    expect(repliesIn(a)[0]).toMatchObject({ ok: true });
    expect(opEventsIn([...a, ...cycles(2)]).at(-1)).toMatchObject({
      kind: "switchover",
      state: "succeeded",
    });
    expect(d.state.primary).toBe("db2");
    expect(d.state.paused).not.toBeNull();
  });

  it("an operation running when paused goes on to its end", () => {
    const { d, w, command } = setup();
    const started = d.command("switchover", { target: "db3" });
    const paused = command("pause");
    expect(repliesIn(paused)[0]).toMatchObject({
      message: expect.stringMatching(/switchover op1 goes on/),
    });
    const all = w.serve(d, started);
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "switchover", state: "succeeded" });
  });

  it("the pause is in the state: a decider that loads it holds back too", () => {
    const { d, w, command } = setup();
    command("pause", { reason: "kept" });
    const loaded = new Driver(d.config, {}, d.now);
    loaded.state = JSON.parse(JSON.stringify(d.state));
    w.kill("db1");
    const out: Action[] = [];
    for (let i = 0; i < 6; i++) {
      loaded.advance(500);
      w.advance(500);
      const a = w.observe(loaded);
      out.push(...a, ...w.serve(loaded, a));
    }
    expect(automatic(out)).toEqual([]);
    expect(loaded.state.situations.db1).toContain("FailoverBlocked:paused");
  });
});
